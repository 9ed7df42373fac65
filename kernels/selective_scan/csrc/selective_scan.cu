// Selective scan for CUDA: forward and backward, same semantics as posemamba_cli.ops.selective_scan.
//
//   dt_t = softplus(delta_t + bias)      a_t = exp(dt_t A)
//   h_t  = a_t h_{t-1} + dt_t u_t B_t     y_t = <C_t, h_t> + D u_t
//
// One thread owns one (batch, channel) row and its N <= 16 states in registers, walking time in order.
// Small batches split time into segments (two-level scan: local end states, a combine over segments,
// then the full pass from the true start states), so the GPU stays busy at batch 1.
// The forward saves the state entering every CHUNK steps; the backward walks chunks in reverse,
// recomputes a chunk's states from that checkpoint (sub-checkpoints every SUB steps in shared memory,
// the SUB states themselves in registers) and runs the adjoint G_t = dy_t C_t + a_{t+1} G_{t+1}.
// dB / dC sum over the channels of a group: a warp's 32 lanes reduce-scatter their 2 x 16 values with
// 31 shuffles and add one value each to global memory.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <torch/extension.h>

namespace {

constexpr int NMAX = 16;
constexpr int CHUNK = 64;
constexpr int SUB = 8;
constexpr int THREADS = 64;
constexpr float LOG2E = 1.4426950408889634f;

template <typename T> __device__ __forceinline__ float to_f(T x) { return static_cast<float>(x); }
template <typename T> __device__ __forceinline__ T from_f(float x) { return static_cast<T>(x); }

__device__ __forceinline__ float softplus_f(float x) { return x > 20.f ? x : log1pf(__expf(x)); }
__device__ __forceinline__ float sigmoid_f(float x) { return 1.f / (1.f + __expf(-x)); }

struct Geo {
  int64_t batch, dim, L, G, N, per_group, n_chunks, n_seg, seg_chunks;
};

// ------------------------------------------------------------------------------------------------ forward
template <typename T, int NS, bool LOCAL>  // NS: N fixed at compile time (16), or 0 for N from g
__global__ void fwd_kernel(const T* __restrict__ u, const T* __restrict__ delta, const float* __restrict__ A,
                           const float* __restrict__ B, const float* __restrict__ C,
                           const float* __restrict__ D, const float* __restrict__ bias, bool softplus,
                           T* __restrict__ y, float* __restrict__ ck, const float* __restrict__ hin,
                           float* __restrict__ hout, float* __restrict__ dts, Geo g) {
  const int64_t row = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;  // b * dim + c
  const int64_t seg = blockIdx.y;
  if (row >= g.batch * g.dim) return;
  const int64_t b = row / g.dim, c = row % g.dim, grp = c / g.per_group;
  const int N = NS > 0 ? NS : (int)g.N;
  float a2[NMAX], h[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; n++) {
    a2[n] = n < N ? A[c * N + n] * LOG2E : 0.f;
    h[n] = (hin != nullptr && n < N) ? hin[((b * g.n_seg + seg) * g.dim + c) * N + n] : 0.f;
  }
  const float bs = bias ? bias[c] : 0.f, dv = D ? D[c] : 0.f;
  const T* ur = u + row * g.L;
  const T* dr = delta + row * g.L;
  const float* Bb = B + (b * g.G + grp) * N * g.L;
  const float* Cb = C + (b * g.G + grp) * N * g.L;
  const int64_t t0 = seg * g.seg_chunks * CHUNK;
  const int64_t t1 = min(g.L, t0 + g.seg_chunks * CHUNK);
  float dsum = 0.f;
  for (int64_t t = t0; t < t1; t++) {
    if (!LOCAL && (t % CHUNK) == 0) {
      float* dst = ck + ((b * g.n_chunks + t / CHUNK) * g.dim + c) * N;
#pragma unroll
      for (int n = 0; n < NMAX; n++)
        if (n < N) dst[n] = h[n];
    }
    float d = to_f(dr[t]) + bs;
    if (softplus) d = softplus_f(d);
    const float x = to_f(ur[t]), dx = d * x;
    float acc = 0.f;
#pragma unroll
    for (int n = 0; n < NMAX; n++) {
      if (n < N) {
        h[n] = exp2f(d * a2[n]) * h[n] + dx * __ldg(Bb + n * g.L + t);
        if (!LOCAL) acc += __ldg(Cb + n * g.L + t) * h[n];
      }
    }
    if (LOCAL) dsum += d;
    else y[row * g.L + t] = from_f<T>(acc + dv * x);
  }
  if (LOCAL) {
#pragma unroll
    for (int n = 0; n < NMAX; n++)
      if (n < N) hout[((b * g.n_seg + seg) * g.dim + c) * N + n] = h[n];
    dts[(b * g.n_seg + seg) * g.dim + c] = dsum;
  }
}

// Chains segments: out[s] = state entering segment s (or, REVERSE, the adjoint carry after it).
__global__ void combine_kernel(const float* __restrict__ A, const float* __restrict__ loc,
                               const float* __restrict__ dts, float* __restrict__ out, Geo g, bool reverse) {
  const int64_t row = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= g.batch * g.dim) return;
  const int64_t b = row / g.dim, c = row % g.dim;
  const int N = (int)g.N;
  float h[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; n++) h[n] = 0.f;
  for (int64_t i = 0; i < g.n_seg; i++) {
    const int64_t s = reverse ? g.n_seg - 1 - i : i;
    const int64_t base = (b * g.n_seg + s) * g.dim + c;
    const float ds = dts[base];
#pragma unroll
    for (int n = 0; n < NMAX; n++) {
      if (n < N) {
        out[base * N + n] = h[n];
        h[n] = exp2f(A[c * N + n] * LOG2E * ds) * h[n] + loc[base * N + n];
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------- backward
// Lane l ends with the warp-wide sum of v[l] (v has 32 entries, 31 shuffles in all).
__device__ __forceinline__ float warp_reduce_scatter32(float (&v)[32]) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int off = 16; off >= 1; off >>= 1) {
    const bool upper = lane & off;
#pragma unroll
    for (int i = 0; i < off; i++) {
      const float send = upper ? v[i] : v[i + off];
      const float keep = upper ? v[i + off] : v[i];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, off);
    }
  }
  return v[0];
}

template <typename T, int NS, bool LOCAL, bool WARP_REDUCE>
__global__ void __launch_bounds__(THREADS) bwd_kernel(
    const T* __restrict__ u, const T* __restrict__ delta, const float* __restrict__ A,
    const float* __restrict__ B, const float* __restrict__ C, const float* __restrict__ D,
    const float* __restrict__ bias, bool softplus, const float* __restrict__ dy, const float* __restrict__ ck,
    const float* __restrict__ gin, float* __restrict__ gout, float* __restrict__ dts, T* __restrict__ du,
    T* __restrict__ ddelta, float* __restrict__ dA_part, float* __restrict__ dD_part,
    float* __restrict__ dbias_part, float* __restrict__ dB, float* __restrict__ dC, Geo g) {
  __shared__ float sub[CHUNK / SUB][NMAX][THREADS];
  const int64_t row0 = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const bool valid = row0 < g.batch * g.dim;
  const int64_t row = valid ? row0 : 0;  // idle lanes still take part in the warp reductions
  const int64_t seg = blockIdx.y;
  const int64_t b = row / g.dim, c = row % g.dim, grp = c / g.per_group;
  const int N = NS > 0 ? NS : (int)g.N;
  const int lane = threadIdx.x & 31;
  float an[NMAX], a2[NMAX], gh[NMAX], ga[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; n++) {
    an[n] = n < N ? A[c * N + n] : 0.f;
    a2[n] = an[n] * LOG2E;
    gh[n] = (gin != nullptr && n < N) ? gin[((b * g.n_seg + seg) * g.dim + c) * N + n] : 0.f;
    ga[n] = 0.f;
  }
  const float bs = bias ? bias[c] : 0.f, dv = D ? D[c] : 0.f;
  const T* ur = u + row * g.L;
  const T* dr = delta + row * g.L;
  const float* gyr = dy + row * g.L;
  const int64_t bc = (b * g.G + grp) * N * g.L;
  const float* Bb = B + bc;
  const float* Cb = C + bc;
  const int64_t c0 = seg * g.seg_chunks, c1 = min(g.n_chunks, c0 + g.seg_chunks);
  float dsum = 0.f, gD = 0.f, gbias = 0.f;
  for (int64_t k = c1 - 1; k >= c0; k--) {
    const int64_t t0 = k * CHUNK, t1 = min(g.L, t0 + CHUNK);
    if (LOCAL) {
      for (int64_t t = t1 - 1; t >= t0; t--) {
        float d = to_f(dr[t]) + bs;
        if (softplus) d = softplus_f(d);
        const float gy = valid ? gyr[t] : 0.f;
        dsum += d;
#pragma unroll
        for (int n = 0; n < NMAX; n++)
          if (n < N) gh[n] = exp2f(d * a2[n]) * (gh[n] + gy * __ldg(Cb + n * g.L + t));
      }
      continue;
    }
    // sub-checkpoints of this chunk
    float h[NMAX];
#pragma unroll
    for (int n = 0; n < NMAX; n++) h[n] = n < N ? ck[((b * g.n_chunks + k) * g.dim + c) * N + n] : 0.f;
    for (int64_t t = t0; t < t1; t++) {
      if (((t - t0) % SUB) == 0) {
#pragma unroll
        for (int n = 0; n < NMAX; n++) sub[(t - t0) / SUB][n][threadIdx.x] = h[n];
      }
      float d = to_f(dr[t]) + bs;
      if (softplus) d = softplus_f(d);
      const float dx = d * to_f(ur[t]);
#pragma unroll
      for (int n = 0; n < NMAX; n++)
        if (n < N) h[n] = exp2f(d * a2[n]) * h[n] + dx * __ldg(Bb + n * g.L + t);
    }
    const int nsub = (int)((t1 - t0 + SUB - 1) / SUB);
    for (int j = nsub - 1; j >= 0; j--) {
      const int64_t s0 = t0 + (int64_t)j * SUB;
      float hs[SUB][NMAX];
      float hp[NMAX];
#pragma unroll
      for (int n = 0; n < NMAX; n++) hp[n] = sub[j][n][threadIdx.x];
#pragma unroll
      for (int s = 0; s < SUB; s++) {
        const int64_t t = s0 + s;
        const bool in = t < t1;
        float d = in ? to_f(dr[t]) + bs : 0.f;
        if (softplus && in) d = softplus_f(d);
        const float dx = in ? d * to_f(ur[t]) : 0.f;
#pragma unroll
        for (int n = 0; n < NMAX; n++) {
          const float prev = s == 0 ? hp[n] : hs[s - 1][n];
          hs[s][n] = (n < N && in) ? exp2f(d * a2[n]) * prev + dx * __ldg(Bb + n * g.L + t) : prev;
        }
      }
#pragma unroll
      for (int s = SUB - 1; s >= 0; s--) {
        const int64_t t = s0 + s;
        if (t >= t1) continue;  // uniform across the warp
        const float xr = to_f(dr[t]) + bs;
        const float d = softplus ? softplus_f(xr) : xr;
        const float x = to_f(ur[t]);
        const float gy = valid ? gyr[t] : 0.f;
        float gdt = 0.f, gu = 0.f;
        float red[32];
#pragma unroll
        for (int n = 0; n < NMAX; n++) {
          red[n] = 0.f;
          red[NMAX + n] = 0.f;
          if (n < N) {
            const float cn = __ldg(Cb + n * g.L + t), bn = __ldg(Bb + n * g.L + t);
            const float at = exp2f(d * a2[n]);
            const float G = gh[n] + gy * cn;
            const float prev = s == 0 ? hp[n] : hs[s - 1][n];
            const float gexp = G * prev * at;
            gdt += gexp * an[n] + G * bn * x;
            ga[n] += gexp * d;
            gu += G * bn;
            red[n] = valid ? G * d * x : 0.f;         // dB
            red[NMAX + n] = valid ? gy * hs[s][n] : 0.f;  // dC
            gh[n] = G * at;
          }
        }
        if (WARP_REDUCE) {
          const float v = warp_reduce_scatter32(red);
          const int n = lane & (NMAX - 1);
          if (n < N) atomicAdd((lane < NMAX ? dB : dC) + bc + n * g.L + t, v);
        } else if (valid) {
#pragma unroll
          for (int n = 0; n < NMAX; n++) {
            if (n < N) {
              atomicAdd(dB + bc + n * g.L + t, red[n]);
              atomicAdd(dC + bc + n * g.L + t, red[NMAX + n]);
            }
          }
        }
        if (valid) {
          du[row * g.L + t] = from_f<T>(gy * dv + gu * d);
          const float gd = softplus ? gdt * sigmoid_f(xr) : gdt;
          ddelta[row * g.L + t] = from_f<T>(gd);
          gbias += gd;
          gD += gy * x;
        }
      }
    }
  }
  if (!valid) return;
  const int64_t part = (b * g.n_seg + seg) * g.dim + c;
  if (LOCAL) {
#pragma unroll
    for (int n = 0; n < NMAX; n++)
      if (n < N) gout[part * N + n] = gh[n];
    dts[part] = dsum;
  } else {
#pragma unroll
    for (int n = 0; n < NMAX; n++)
      if (n < N) dA_part[part * N + n] = ga[n];
    dD_part[part] = gD;
    dbias_part[part] = gbias;
  }
}

// --------------------------------------------------------------------------------------------------- host
Geo make_geo(const torch::Tensor& u, const torch::Tensor& B, int64_t n_seg_req) {
  Geo g;
  g.batch = u.size(0); g.dim = u.size(1); g.L = u.size(2);
  g.G = B.size(1); g.N = B.size(2);
  g.per_group = g.dim / g.G;
  g.n_chunks = (g.L + CHUNK - 1) / CHUNK;
  int64_t n_seg = n_seg_req;
  if (n_seg <= 0) {
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, u.get_device());
    const int64_t blocks = (g.batch * g.dim + THREADS - 1) / THREADS;
    n_seg = (8 * sms + blocks - 1) / blocks;
  }
  n_seg = std::max<int64_t>(1, std::min(n_seg, g.n_chunks));
  g.seg_chunks = (g.n_chunks + n_seg - 1) / n_seg;
  g.n_seg = (g.n_chunks + g.seg_chunks - 1) / g.seg_chunks;
  return g;
}

void check_inputs(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                  const torch::Tensor& B, const torch::Tensor& C) {
  TORCH_CHECK(u.is_cuda() && u.is_contiguous() && delta.is_contiguous(), "u, delta: contiguous CUDA tensors");
  TORCH_CHECK(u.scalar_type() == delta.scalar_type(), "u and delta must share a dtype");
  TORCH_CHECK(A.scalar_type() == torch::kFloat && B.scalar_type() == torch::kFloat &&
              C.scalar_type() == torch::kFloat, "A, B, C must be float32");
  TORCH_CHECK(A.is_contiguous() && B.is_contiguous() && C.is_contiguous(), "A, B, C must be contiguous");
  TORCH_CHECK(B.size(2) <= NMAX, "this kernel supports N <= 16");
  TORCH_CHECK(u.size(1) % B.size(1) == 0, "dim must be a multiple of groups");
}

template <typename F> void dispatch_dtype(at::ScalarType t, F&& body) {
  if (t == at::kFloat) body(float{});
  else if (t == at::kBFloat16) body(at::BFloat16{});
  else TORCH_CHECK(false, "u / delta must be float32 or bfloat16, got ", t);
}

const float* opt_ptr(const c10::optional<torch::Tensor>& t) {
  return t.has_value() ? t->data_ptr<float>() : nullptr;
}

std::vector<torch::Tensor> fwd(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor B,
                               torch::Tensor C, c10::optional<torch::Tensor> D,
                               c10::optional<torch::Tensor> bias, bool softplus, int64_t n_seg_req) {
  check_inputs(u, delta, A, B, C);
  const at::cuda::CUDAGuard guard(u.device());
  Geo g = make_geo(u, B, n_seg_req);
  auto f32 = u.options().dtype(torch::kFloat);
  auto y = torch::empty_like(u);
  auto ck = torch::empty({g.batch, g.n_chunks, g.dim, g.N}, f32);
  auto stream = c10::cuda::getCurrentCUDAStream();
  dim3 grid((unsigned)((g.batch * g.dim + THREADS - 1) / THREADS), (unsigned)g.n_seg);
  dim3 grid1((unsigned)((g.batch * g.dim + THREADS - 1) / THREADS));
  auto body = [&](auto tag) {
    using scalar_t = decltype(tag);
    torch::Tensor hin;
    if (g.n_seg > 1) {
      auto hout = torch::empty({g.batch, g.n_seg, g.dim, g.N}, f32);
      auto dts = torch::empty({g.batch, g.n_seg, g.dim}, f32);
      auto k_local = g.N == NMAX ? fwd_kernel<scalar_t, NMAX, true> : fwd_kernel<scalar_t, 0, true>;
      k_local<<<grid, THREADS, 0, stream>>>(
          u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<float>(), B.data_ptr<float>(),
          C.data_ptr<float>(), opt_ptr(D), opt_ptr(bias), softplus, nullptr, nullptr, nullptr,
          hout.data_ptr<float>(), dts.data_ptr<float>(), g);
      hin = torch::empty_like(hout);
      combine_kernel<<<grid1, THREADS, 0, stream>>>(A.data_ptr<float>(), hout.data_ptr<float>(),
                                                    dts.data_ptr<float>(), hin.data_ptr<float>(), g, false);
    }
    auto k_full = g.N == NMAX ? fwd_kernel<scalar_t, NMAX, false> : fwd_kernel<scalar_t, 0, false>;
    k_full<<<grid, THREADS, 0, stream>>>(
        u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<float>(), B.data_ptr<float>(),
        C.data_ptr<float>(), opt_ptr(D), opt_ptr(bias), softplus, y.data_ptr<scalar_t>(), ck.data_ptr<float>(),
        g.n_seg > 1 ? hin.data_ptr<float>() : nullptr, nullptr, nullptr, g);
  };
  dispatch_dtype(u.scalar_type(), body);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {y, ck};
}

std::vector<torch::Tensor> bwd(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor B,
                               torch::Tensor C, c10::optional<torch::Tensor> D,
                               c10::optional<torch::Tensor> bias, torch::Tensor dy, torch::Tensor ck,
                               bool softplus, int64_t n_seg_req) {
  check_inputs(u, delta, A, B, C);
  TORCH_CHECK(dy.scalar_type() == torch::kFloat && dy.is_contiguous(), "dy: contiguous float32");
  const at::cuda::CUDAGuard guard(u.device());
  Geo g = make_geo(u, B, n_seg_req);
  auto f32 = u.options().dtype(torch::kFloat);
  auto du = torch::empty_like(u);
  auto ddelta = torch::empty_like(delta);
  auto dA = torch::empty({g.batch, g.n_seg, g.dim, g.N}, f32);
  auto dD = torch::empty({g.batch, g.n_seg, g.dim}, f32);
  auto dbias = torch::empty({g.batch, g.n_seg, g.dim}, f32);
  auto dB = torch::zeros_like(B);
  auto dC = torch::zeros_like(C);
  const bool warp_reduce = g.N == NMAX && g.per_group % 32 == 0;
  auto stream = c10::cuda::getCurrentCUDAStream();
  dim3 grid((unsigned)((g.batch * g.dim + THREADS - 1) / THREADS), (unsigned)g.n_seg);
  dim3 grid1((unsigned)((g.batch * g.dim + THREADS - 1) / THREADS));
  auto body = [&](auto tag) {
    using scalar_t = decltype(tag);
    torch::Tensor gin;
    auto launch = [&](auto local_tag, auto warp_tag, const float* gin_p, float* gout_p, float* dts_p) {
      constexpr bool LOCAL = decltype(local_tag)::value;
      constexpr bool WR = decltype(warp_tag)::value;
      auto kern = g.N == NMAX ? bwd_kernel<scalar_t, NMAX, LOCAL, WR> : bwd_kernel<scalar_t, 0, LOCAL, WR>;
      kern<<<grid, THREADS, 0, stream>>>(
          u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<float>(), B.data_ptr<float>(),
          C.data_ptr<float>(), opt_ptr(D), opt_ptr(bias), softplus, dy.data_ptr<float>(), ck.data_ptr<float>(),
          gin_p, gout_p, dts_p, du.data_ptr<scalar_t>(), ddelta.data_ptr<scalar_t>(), dA.data_ptr<float>(),
          dD.data_ptr<float>(), dbias.data_ptr<float>(), dB.data_ptr<float>(), dC.data_ptr<float>(), g);
    };
    if (g.n_seg > 1) {
      auto gout = torch::empty({g.batch, g.n_seg, g.dim, g.N}, f32);
      auto dts = torch::empty({g.batch, g.n_seg, g.dim}, f32);
      launch(std::true_type{}, std::false_type{}, nullptr, gout.data_ptr<float>(), dts.data_ptr<float>());
      gin = torch::empty_like(gout);
      combine_kernel<<<grid1, THREADS, 0, stream>>>(A.data_ptr<float>(), gout.data_ptr<float>(),
                                                    dts.data_ptr<float>(), gin.data_ptr<float>(), g, true);
    }
    const float* gin_p = g.n_seg > 1 ? gin.data_ptr<float>() : nullptr;
    if (warp_reduce) launch(std::false_type{}, std::true_type{}, gin_p, nullptr, nullptr);
    else launch(std::false_type{}, std::false_type{}, gin_p, nullptr, nullptr);
  };
  dispatch_dtype(u.scalar_type(), body);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const std::vector<int64_t> dims01{0, 1};
  return {du, ddelta, dA.sum(dims01), dB, dC, dD.sum(dims01), dbias.sum(dims01)};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "PoseMamba selective scan (CUDA): fwd(u, delta, A, B, C, D, bias, softplus, n_seg) -> (y, ckpt); "
            "bwd(..., dy, ckpt, softplus, n_seg) -> (du, ddelta, dA, dB, dC, dD, dbias)";
  m.def("fwd", &fwd, "selective scan forward");
  m.def("bwd", &bwd, "selective scan backward");
}

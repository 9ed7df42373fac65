from posemamba_cli.cli.app import main

main()

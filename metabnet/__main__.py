from metabnet.cli.main import main

main()

from visio.cli import main

main()

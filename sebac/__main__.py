from sebac.cli import main

main()

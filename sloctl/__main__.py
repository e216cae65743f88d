from sloctl.cli import main

main()

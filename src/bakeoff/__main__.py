from bakeoff.host.cli import main

main()

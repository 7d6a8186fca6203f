from vmstui.cli.main import main

main()

from vmstui.cli import main

main()

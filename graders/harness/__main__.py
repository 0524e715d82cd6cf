from graders.harness.cli import main

main()

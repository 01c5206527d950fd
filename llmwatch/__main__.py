from llmwatch.cli import main

main()

"""mss.read_models: what the webmail's and the API's pages show, read from the mail
store and the directory (docs/architecture.md §2): the protocol adapters hold no SQL, so
their read models live here, below the pipeline and beside nothing that writes."""

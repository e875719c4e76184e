"""The interfaces the use cases need, one module per family and its users. Adapters implement
them and translate their own library's errors into the errors declared here."""

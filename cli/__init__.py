"""The command line: one click group (`main`) and one short module per subcommand, each
parsing its options and calling one library function."""

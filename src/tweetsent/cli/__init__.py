"""The `tweetsent` command line."""

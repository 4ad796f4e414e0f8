"""The actions a policy rule can take, one module each."""

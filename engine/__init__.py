"""learnexport: export TappsCodingAgents learning data, anonymized by declarative policies."""

__version__ = "0.1.0"

"""Offline stand-in for OpenGradient: local anvil chains, log emitters and a traffic simulator."""

"""Version of this distribution; scripts/artifacts/python.sh stamps the released one."""

__version__ = "0.0.0"

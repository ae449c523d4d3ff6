package schema

// Version is the version of the schema artifacts this module was built from (the source
// repository's package.json version); scripts/artifacts/go.sh stamps it.
const Version = "0.0.0-dev"

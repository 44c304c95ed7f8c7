"""tweetsent inside other frameworks: `tweetsent.integrations.ray.Predictor` scores a Ray Dataset with
`map_batches`. Each integration imports only what it needs; the framework itself is never imported here."""

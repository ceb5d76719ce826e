// Package httpapi serves the live version of a published model over HTTP:
// neighbour lists, recommendations, the versions and health, and
// Prometheus metrics. A Server is an http.Handler built from a
// publish.Client, so a service can mount it in its own mux or run it on
// its own listener, as `recopub serve` does.
//
// Routes:
//
//	GET /v1/similar/{item}?n=N            neighbours of an item
//	GET /v1/recommend/{user}?n=N&exclude=a,b
//	GET /v1/versions                      every version, the live one marked
//	GET /healthz                          200 when Redis answers and a version is live
//	GET /metrics                          Prometheus exposition (client_golang)
//
// Every answer is JSON; an error is {"error": "...", "code": "..."} with a
// status from one table (errorStatus): 400 invalid, 404 not found, 405,
// 413 for a body, 503 when Redis or a live version is missing.
package httpapi

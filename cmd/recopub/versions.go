package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// versionsCommand lists versions.
type versionsCommand struct{ m *Main }

func (c *versionsCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("versions", "versions [--redis URL]")
	asJSON := fs.Bool("json", false, "print the versions as the HTTP API's /v1/versions does")
	return withRedis(fs, rf, args, ignoreArgs, func(rdb redis.UniversalClient, _ []string) error {
		vs, err := publish.Versions(ctx, rdb, rf.keys())
		if err != nil {
			return err
		}
		if *asJSON {
			return printVersionsJSON(c.m.Stdout, vs)
		}
		fmt.Fprintf(c.m.Stdout, "%-24s %-9s %-20s %10s %10s\n", "VERSION", "STATUS", "CREATED", "LISTS", "HASHES")
		for _, v := range vs {
			live := ""
			if v.Live {
				live = "  <- live"
			}
			if v.Status == publish.StatusWriting && v.Manifest["shards"] != "" {
				live = shardProgress(ctx, rdb, rf.keys(), v.ID)
			}
			var lists int64
			for _, n := range v.Lists {
				lists += n
			}
			fmt.Fprintf(c.m.Stdout, "%-24s %-9s %-20s %10d %10d%s\n", v.ID, v.Status, v.CreatedAt.Format(time.DateTime), lists, v.Hashes, live)
		}
		return nil
	})
}

// printVersionsJSON prints {"live", "versions"} as /v1/versions does.
func printVersionsJSON(w io.Writer, vs []publish.VersionInfo) error {
	out := struct {
		Live     string                `json:"live"`
		Versions []publish.VersionInfo `json:"versions"`
	}{Versions: vs}
	if out.Versions == nil {
		out.Versions = []publish.VersionInfo{}
	}
	for _, v := range vs {
		if v.Live {
			out.Live = v.ID
		}
	}
	return printJSON(w, out)
}

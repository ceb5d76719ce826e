package main

import (
	"context"
	"fmt"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// versionsCommand lists versions.
type versionsCommand struct{ m *Main }

func (c *versionsCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("versions", "versions [--redis URL]")
	return withRedis(fs, rf, args, ignoreArgs, func(rdb redis.UniversalClient, _ []string) error {
		vs, err := publish.Versions(ctx, rdb, rf.keys())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.m.Stdout, "%-24s %-9s %-20s %10s %10s\n", "VERSION", "STATUS", "CREATED", "LISTS", "HASHES")
		for _, v := range vs {
			live := ""
			if v.Live {
				live = "  <- live"
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

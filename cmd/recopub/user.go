package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// userCommand prints a user's live feature hash.
type userCommand struct{ m *Main }

func (c *userCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("user", "user USER [--redis URL]")
	asJSON := fs.Bool("json", false, `print {"user", "version", "features"} as JSON`)
	return withRedis(fs, rf, args, exactlyOne("USER"), func(rdb redis.UniversalClient, pos []string) error {
		cl := publish.NewClient(rdb, publish.ClientOptions{Namespace: rf.namespace})
		feats, v, err := cl.User(ctx, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			if feats == nil {
				feats = map[string]string{}
			}
			return printJSON(c.m.Stdout, struct {
				User     string            `json:"user"`
				Version  string            `json:"version"`
				Features map[string]string `json:"features"`
			}{pos[0], v, feats})
		}
		fmt.Fprintf(c.m.Stdout, "# version %s\n", v)
		for _, k := range slices.Sorted(maps.Keys(feats)) {
			fmt.Fprintf(c.m.Stdout, "%s\t%s\n", k, feats[k])
		}
		return nil
	})
}

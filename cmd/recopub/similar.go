package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

// similarCommand prints an item's live neighbours.
type similarCommand struct{ m *Main }

func (c *similarCommand) Run(ctx context.Context, args []string) error {
	fs, rf := c.m.redisFlagSet("similar", "similar ITEM [-n 10] [--redis URL]")
	n := fs.Int("n", 10, "neighbours to print")
	asJSON := fs.Bool("json", false, "print the answer as the HTTP API's /v1/similar does")
	return withRedis(fs, rf, args, exactlyOne("ITEM"), func(rdb redis.UniversalClient, pos []string) error {
		cl := publish.NewClient(rdb, publish.ClientOptions{Namespace: rf.namespace})
		nb, v, err := cl.Neighbors(ctx, pos[0], *n)
		if err != nil {
			return err
		}
		if *asJSON {
			if nb == nil {
				nb = []publish.Scored{}
			}
			return printJSON(c.m.Stdout, struct {
				Item    string           `json:"item"`
				Version string           `json:"version"`
				Items   []publish.Scored `json:"items"`
			}{pos[0], v, nb})
		}
		fmt.Fprintf(c.m.Stdout, "# version %s\n", v)
		for _, s := range nb {
			fmt.Fprintf(c.m.Stdout, "%s\t%s\n", s.Item, publishScore(s.Score))
		}
		return nil
	})
}

// printJSON prints v indented, as the read commands' --json do.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func publishScore(f float64) string { return fmt.Sprintf("%.6g", f) }

// Command restorestream writes, as a RESP stream for `redis-cli --pipe`,
// one "RESTORE key 0 payload REPLACE" per key of a published version,
// with the payload DUMP returns for the key: the same command recopub's
// writer sends. testdata/bench/publish-vs-restore.sh uses it to time
// Redis restoring exactly what recopub published.
//
//	restorestream --addr 127.0.0.1:7000 --version V [--namespace reco] > stream.resp
//
// For the payloads to be byte for byte recopub's, the server must DUMP
// without LZF (CONFIG SET rdbcompression no, which it sets and restores)
// and be the Redis 7.0 recopub encoded for; on later versions a
// non-integral score differs in its text, not in its value.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/recopub/recopub/publish"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "redis-server holding the version")
	version := flag.String("version", "", "version whose keys to dump (default: the live one)")
	ns := flag.String("namespace", publish.DefaultNamespace, "key namespace")
	flag.Parse()
	if err := run(context.Background(), *addr, *ns, *version); err != nil {
		fmt.Fprintln(os.Stderr, "restorestream:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, ns, version string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	k := publish.Keys{Namespace: ns}
	if version == "" {
		v, err := publish.Live(ctx, c, k)
		if err != nil {
			return err
		}
		if version = v; v == "" {
			return fmt.Errorf("no live version at %s; pass --version", addr)
		}
	}
	old, err := c.ConfigGet(ctx, "rdbcompression").Result()
	if err != nil {
		return err
	}
	if err := c.ConfigSet(ctx, "rdbcompression", "no").Err(); err != nil {
		return err
	}
	defer c.ConfigSet(ctx, "rdbcompression", old["rdbcompression"])
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	n := 0
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, k.VersionPattern(version), 1000).Result()
		if err != nil {
			return err
		}
		if err := dump(ctx, c, keys, out); err != nil {
			return err
		}
		n += len(keys)
		if cursor = next; cursor == 0 {
			break
		}
	}
	fmt.Fprintf(os.Stderr, "restorestream: %d keys of version %s\n", n, version)
	return out.Flush()
}

// dump DUMPs keys in one pipeline and writes a RESTORE for each.
func dump(ctx context.Context, c *redis.Client, keys []string, out *bufio.Writer) error {
	p := c.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, key := range keys {
		cmds[i] = p.Dump(ctx, key)
	}
	if _, err := p.Exec(ctx); err != nil {
		return err
	}
	for i, key := range keys {
		writeCommand(out, "RESTORE", key, "0", cmds[i].Val(), "REPLACE")
	}
	return nil
}

func writeCommand(w *bufio.Writer, args ...string) {
	w.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		w.WriteString("$" + strconv.Itoa(len(a)) + "\r\n")
		w.WriteString(a)
		w.WriteString("\r\n")
	}
}

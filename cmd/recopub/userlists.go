package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
)

// userListFlags are the per-user list flags, one definition for run, which
// publishes the lists as rec:<user>, and eval, which scores them as run
// would publish them.
type userListFlags struct {
	userLists int    // K of each user's list; 0: off
	userDepth int    // neighbours per item the lists are scored from (not ease)
	affinity  string // what each item of a user's history counts for

	aff model.Affinity // parsed by validate
}

func init() {
	configSections["model"] = append(configSections["model"], "user-lists", "user-depth", "affinity")
}

// register adds --user-lists, --user-depth and --affinity; what says
// what --user-lists does for the command.
func (f *userListFlags) register(fs *flag.FlagSet, what string) {
	fs.IntVar(&f.userLists, "user-lists", 0, what+" (ease: the user's history times the whole model; other metrics: from --user-depth neighbours per item); 0: off, 20 is a good length")
	fs.IntVar(&f.userDepth, "user-depth", model.DefaultUserDepth, "neighbours per item that per-user lists are scored from (not ease)")
	fs.StringVar(&f.affinity, "affinity", "weighted", "user affinity: weighted (event weights, decayed with --half-life-days) or binary")
}

func (f *userListFlags) validate() error {
	var err error
	if f.aff, err = model.ParseAffinity(f.affinity); err != nil {
		return usagef("--affinity: %v", err)
	}
	switch {
	case f.userLists < 0:
		return usagef("--user-lists %d: want a list length, or 0 for none", f.userLists)
	case f.userDepth <= 0:
		return usagef("--user-depth %d: want a positive number", f.userDepth)
	}
	return nil
}

// options are model.UserLists' options for every user with history.
func (f *userListFlags) options(workers int) model.UserListOptions {
	return model.UserListOptions{K: f.userLists, Affinity: f.aff, Workers: workers}
}

func (f *userListFlags) parameters(p map[string]any) {
	if f.userLists > 0 {
		p["user_lists"], p["user_depth"], p["affinity"] = f.userLists, f.userDepth, f.aff.String()
	}
}

// userRecs is every user's list, kept compactly (12 bytes an item) for
// the writer, which walks a family's lists more than once (preflight,
// write, verify) and so cannot take them as a stream.
type userRecs struct {
	user  []uint32 // users with a non-empty list, ascending
	ptr   []int    // len(user)+1
	item  []uint32
	score []float64
	users []string // external ids
	items []string
}

// computeUserLists runs model.UserLists over mat with src and keeps the
// lists for the rec family.
func (c *runCommand) computeUserLists(ctx context.Context, src model.UserScorer, users, items []string, log *slog.Logger) (*userRecs, error) {
	mat := c.model.matrix
	r := &userRecs{ptr: []int{0}, users: users, items: items}
	c.bars.begin(barUsers)
	defer c.bars.end(barUsers)
	bar, done := c.bars.counter(barUsers), int64(0)
	err := model.UserLists(ctx, mat, src, c.lists.options(c.model.opt.Workers), func(b *model.UserBlock) error {
		if done += int64(b.Len()); bar != nil {
			bar(min(done, int64(len(users))), int64(len(users)))
		}
		for x := range b.Len() {
			u, it, sc := b.List(x)
			if len(it) == 0 {
				continue
			}
			r.user = append(r.user, u)
			r.item, r.score = append(r.item, it...), append(r.score, sc...)
			r.ptr = append(r.ptr, len(r.item))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("user lists: %w", err)
	}
	log.Info("user lists", "users", len(r.user), "items", len(r.item), "k", c.lists.userLists,
		"affinity", c.lists.aff.String(), "seconds", c.clock.end("user_lists"))
	return r, nil
}

func (r *userRecs) Len() int { return len(r.user) }

func (r *userRecs) List(i int, l *publish.List) {
	l.ID = r.users[r.user[i]]
	for k := r.ptr[i]; k < r.ptr[i+1]; k++ {
		l.Members = append(l.Members, r.items[r.item[k]])
		l.Scores = append(l.Scores, r.score[k])
	}
}

var _ publish.ListSource = (*userRecs)(nil)

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
)

// evalCommand measures offline how well the published lists would
// recommend: it splits the events, computes the lists from the training
// part exactly as run would, scores users from them like SAR and compares
// with the held-out part.
type evalCommand struct {
	m *Main

	in      ingestFlags
	model   modelFlags
	metrics string

	split    string
	ratio    float64
	cutoff   string
	n        int
	k        int
	asJSON   bool
	export   string
	logLevel string
	sweep    string
	rankBy   string
	sweepOut string
	report   string

	userListFlags // userlists.go: the per-user lists scored alongside the item lists

	// parsed
	metricList []model.Metric
	splitOpt   model.SplitOptions
	log        *slog.Logger
}

func (c *evalCommand) flags() *flag.FlagSet {
	fs := c.m.newFlagSet("eval", "eval --events PATH [--profiles PATH] [--metric cosine,jaccard,llr,ease] [--split user-stratified] [flags]")
	c.in.register(fs)
	c.model.registerCommon(fs)
	fs.StringVar(&c.metrics, "metric", "cosine,jaccard,llr,ease", "similarities to evaluate, comma-separated: "+metricNames())
	fs.StringVar(&c.split, "split", "user-stratified", "user-stratified, temporal or last-n")
	fs.Float64Var(&c.ratio, "ratio", model.DefaultSplitRatio, "user-stratified: share of each user's items kept for training")
	fs.StringVar(&c.cutoff, "cutoff", "", "temporal: events from this time on are held out (RFC 3339 or YYYY-MM-DD)")
	fs.IntVar(&c.n, "n", model.DefaultHoldoutN, "last-n: items held out per user")
	fs.IntVar(&c.k, "k", 10, "recommendations per user that are scored")
	c.userListFlags.register(fs, "also score per-user lists of this length as run would publish them")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON instead of a table")
	fs.StringVar(&c.export, "export-interactions", "", "write the loaded (user, item) pairs to this file as little-endian uint32 pairs and exit (for testdata/peers)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "debug, info, warn or error")
	fs.StringVar(&c.sweep, "sweep", "", `evaluate a grid on one split: "metric=cosine,llr,jaccard;min_support=1,2,5" (sweepable: `+strings.Join(sortedKeys(sweepParams), ", ")+")")
	fs.StringVar(&c.rankBy, "rank-by", "ndcg", "figure that ranks the sweep: "+strings.Join(sortedKeys(rankMetrics), ", "))
	fs.StringVar(&c.report, "report", "", "also write report.html here: the evaluation table and every --metric's lists (from the training part) overlaid; summary and samples of the best")
	fs.StringVar(&c.sweepOut, "sweep-out", "", "also write the ranked sweep to DIR/sweep.csv and DIR/sweep.json")
	return fs
}

func (c *evalCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c.in.noteExplicit(fs)
	if err := c.validate(); err != nil {
		return err
	}
	log, err := c.m.newLogger(c.logLevel)
	if err != nil {
		return err
	}
	c.log = log
	ds, profiles, err := c.in.load(ctx, log, newStageClock())
	if err == nil {
		err = c.model.checkSelections(ds, profiles, &c.in, log)
	}
	if err != nil {
		return err
	}
	if c.export != "" {
		return exportInteractions(c.export, ds)
	}
	if c.sweep != "" {
		return c.runSweep(ctx, ds)
	}
	rep, d, err := c.evaluate(ctx, ds, profiles)
	if err != nil {
		return err
	}
	// The results first: a --report that cannot be written does not lose
	// them.
	if c.asJSON {
		err = writeJSON(c.m.Stdout, rep)
	} else {
		rep.table(c.m.Stdout)
	}
	if err == nil && c.report != "" {
		err = c.writeReport(ctx, ds, d, rep)
	}
	return err
}

func (c *evalCommand) validate() error {
	if err := c.in.validate(); err != nil {
		return err
	}
	if err := c.model.validate(c.in.opt.Workers); err != nil {
		return err
	}
	c.model.useIngest(&c.in)
	if c.sweep != "" {
		if _, err := parseSweep(c.sweep); err != nil {
			return usagef("--sweep: %v", err)
		}
	}
	if _, ok := rankMetrics[c.rankBy]; !ok {
		return usagef("--rank-by %q: want one of %s", c.rankBy, strings.Join(sortedKeys(rankMetrics), ", "))
	}
	var err error
	for _, name := range splitList(c.metrics) {
		m, err := model.ParseMetric(name)
		if err != nil {
			return badValue("eval", "metric", name, err)
		}
		c.metricList = append(c.metricList, m)
	}
	if c.splitOpt.Mode, err = model.ParseSplitMode(c.split); err != nil {
		return badValue("eval", "split", c.split, err)
	}
	if err := c.userListFlags.validate(); err != nil {
		return err
	}
	c.splitOpt.Ratio, c.splitOpt.Seed, c.splitOpt.N = c.ratio, c.model.opt.Seed, c.n
	switch {
	case c.k <= 0:
		return usagef("--k %d: want a positive number", c.k)
	case !(c.ratio > 0 && c.ratio < 1):
		return usagef("--ratio %g: want a share between 0 and 1", c.ratio)
	case c.n <= 0:
		return usagef("--n %d: want a positive number", c.n)
	case c.splitOpt.Mode == model.SplitTemporal && c.cutoff == "":
		return usagef("--split temporal needs --cutoff")
	}
	if c.cutoff != "" {
		t, err := parseDateTime(c.cutoff)
		if err != nil {
			return usagef("--cutoff: %v", err)
		}
		c.splitOpt.Cutoff = t
	}
	return nil
}

func parseDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2011-06-01T00:00:00Z) or a date (2011-06-01)", s)
}

// evalReport is what eval prints. The first --metric's figures are also
// at the top level, so a script can read .precision directly.
type evalReport struct {
	Split       string  `json:"split"`
	Ratio       float64 `json:"ratio,omitempty"`
	Cutoff      string  `json:"cutoff,omitempty"`
	N           int     `json:"n,omitempty"`
	Seed        int64   `json:"seed"`
	K           int     `json:"k"`
	TopN        int     `json:"top_n"`
	Affinity    string  `json:"affinity"`
	HalfLife    float64 `json:"half_life_days"`
	TrainEvents int     `json:"train_events"`
	TestPairs   int     `json:"test_pairs"`
	Users       int     `json:"users"`
	ColdUsers   int     `json:"cold_users"`
	UserLists   int     `json:"user_lists,omitempty"`
	UserDepth   int     `json:"user_depth,omitempty"`

	model.Evaluation
	Models []evalRow `json:"models"`
}

// evalRow is one line of the table: a baseline, a metric's item lists or
// its per-user lists.
type evalRow struct {
	Model string `json:"model"`
	lists string // "item" or "users@K", for the sweep
	model.Evaluation
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// evalData is one split, shared by every model evaluated on it.
type evalData struct {
	split *model.Holdout
	train *model.Matrix
	users []uint32 // users with held-out items
}

func (c *evalCommand) evaluate(ctx context.Context, ds *features.Dataset, profiles *features.Profiles) (*evalReport, *evalData, error) {
	d, rep, err := c.prepare(ds)
	if err != nil {
		return nil, nil, err
	}
	rows, err := c.baselines(ctx, ds, profiles, d.train, d.split.Test, d.users)
	if err != nil {
		return nil, nil, err
	}
	rep.Models = rows
	for _, m := range c.metricList {
		mrows, err := c.evalMetric(ctx, m, c.model.opt, d.train, d.split.Test, d.users)
		if err != nil {
			return nil, nil, err
		}
		rep.Models = append(rep.Models, mrows...)
	}
	if len(c.metricList) > 0 {
		rep.Evaluation = rep.Models[len(rows)].Evaluation
	}
	return rep, d, nil
}

// prepare splits the events and builds the training matrix.
func (c *evalCommand) prepare(ds *features.Dataset) (*evalData, *evalReport, error) {
	x := &model.Interactions{NumUsers: len(ds.Users), NumItems: len(ds.Items),
		User: ds.User, Item: ds.Item, Weight: c.in.weights(ds), Time: ds.Time}
	// Seed each user's shuffle by its external id, so a user's held-out
	// items do not depend on how the loader numbered the users.
	c.splitOpt.UserKeys = make([]uint64, len(ds.Users))
	for u, id := range ds.Users {
		h := fnv.New64a()
		h.Write([]byte(id))
		c.splitOpt.UserKeys[u] = h.Sum64()
	}
	h, err := model.Split(x, c.splitOpt)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	if h.Test.NNZ() == 0 {
		return nil, nil, rejectedError{errors.New("eval: the split holds nothing out; check --split, --cutoff or --n")}
	}
	train := h.Train.Matrix(c.model.decay(h.Train.Weight, h.Train.Time))
	var users []uint32
	for u := range h.Test.NumUsers {
		if h.Test.UserPtr[u+1] > h.Test.UserPtr[u] {
			users = append(users, uint32(u))
		}
	}
	rep := &evalReport{
		Split: c.splitOpt.Mode.String(), Seed: c.splitOpt.Seed, K: c.k, TopN: c.model.opt.TopN,
		Affinity: c.aff.String(), HalfLife: c.model.halfLifeDays,
		TrainEvents: h.Train.Len(), TestPairs: h.Test.NNZ(), Users: len(users), ColdUsers: h.ColdUsers,
	}
	if c.userLists > 0 {
		rep.UserLists, rep.UserDepth = c.userLists, c.userDepth
	}
	switch c.splitOpt.Mode {
	case model.SplitUserStratified:
		rep.Ratio = c.ratio
	case model.SplitTemporal:
		rep.Cutoff = c.splitOpt.Cutoff.UTC().Format(time.RFC3339)
	case model.SplitLastN:
		rep.N = c.n
	}
	return &evalData{split: h, train: train, users: users}, rep, nil
}

// baselines evaluates global popularity and, with --segment-cols and
// profiles, segment popularity: the pop and seg lists run publishes.
func (c *evalCommand) baselines(ctx context.Context, ds *features.Dataset, profiles *features.Profiles, train, test *model.Matrix, users []uint32) ([]evalRow, error) {
	topN, weighted := c.model.opt.TopN, c.model.opt.Weighted
	row := func(name string, group []int32, numGroups int) (evalRow, error) {
		t := time.Now()
		lists, err := model.Popular(train, group, numGroups, topN, weighted)
		if err != nil {
			return evalRow{}, err
		}
		recs, err := model.RecommendLists(ctx, train, lists, group, users, c.k, c.model.opt.Workers)
		if err != nil {
			return evalRow{}, err
		}
		ev, err := model.Evaluate(test, recs, train, c.k)
		return evalRow{Model: name, Evaluation: ev, Seconds: time.Since(t).Seconds()}, err
	}
	pop, err := row("popular", nil, 1)
	if err != nil {
		return nil, fmt.Errorf("eval popular: %w", err)
	}
	rows := []evalRow{pop}
	cols := splitList(c.model.segmentCols)
	if len(cols) == 0 {
		return rows, nil
	}
	if profiles == nil {
		return nil, usagef("--segment-cols needs --profiles")
	}
	group, ids := segments(ds.Users, profiles, cols)
	seg, err := row("segment", group, len(ids))
	if err != nil {
		return nil, fmt.Errorf("eval segment: %w", err)
	}
	return append(rows, seg), nil
}

// evalMetric computes one metric's lists from train and scores them: a
// row for the item lists, scored like SAR, and with --user-lists a row for
// the per-user lists as run would publish them. Both come from one fit:
// EASE's B gives its top-N lists and the users' full-model scores; other
// metrics are computed --user-depth deep once, and the item lists are the
// top-N of those. A model that refuses the data (EASE above
// --max-dense-items) becomes a row with its error, so the other rows still
// print.
func (c *evalCommand) evalMetric(ctx context.Context, m model.Metric, opt model.Options, train, test *model.Matrix, users []uint32) ([]evalRow, error) {
	t := time.Now()
	row := evalRow{Model: m.String(), lists: "item"}
	opt.Metric = m
	nb, src, err := c.fit(ctx, train, opt)
	var dse *model.DenseSizeError
	if errors.As(err, &dse) {
		row.Error = err.Error()
		return []evalRow{row}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eval %v: %w", m, err)
	}
	recs, err := model.Recommend(ctx, train, nb, users, c.k, c.aff, opt.Workers)
	if err != nil {
		return nil, fmt.Errorf("eval %v: %w", m, err)
	}
	if row.Evaluation, err = model.Evaluate(test, recs, train, c.k); err != nil {
		return nil, fmt.Errorf("eval %v: %w", m, err)
	}
	row.Seconds = time.Since(t).Seconds()
	c.log.Info("eval", "metric", m.String(), "precision", row.Precision, "seconds", row.Seconds)
	if c.userLists == 0 {
		return []evalRow{row}, nil
	}
	t = time.Now()
	lists := fmt.Sprintf("users@%d", c.userLists)
	urow := evalRow{Model: m.String() + " " + lists, lists: lists}
	urecs, err := model.UserRecommendations(ctx, train, src,
		model.UserListOptions{K: c.userLists, Users: users, Affinity: c.aff, Workers: opt.Workers})
	if err != nil {
		return nil, fmt.Errorf("eval %v user lists: %w", m, err)
	}
	if urow.Evaluation, err = model.Evaluate(test, urecs, train, c.k); err != nil {
		return nil, fmt.Errorf("eval %v user lists: %w", m, err)
	}
	urow.Seconds = time.Since(t).Seconds()
	return []evalRow{row, urow}, nil
}

// fit returns the metric's top-N lists and what per-user lists are scored
// from (nil without --user-lists).
func (c *evalCommand) fit(ctx context.Context, train *model.Matrix, opt model.Options) (*model.Neighbors, model.UserScorer, error) {
	if c.userLists == 0 {
		nb, err := model.Similar(ctx, train, opt)
		return nb, nil, err
	}
	f, err := model.NewFit(ctx, train, opt, c.userDepth)
	if err != nil {
		return nil, nil, err
	}
	return f.Lists, f.Users, nil
}

func (r *evalReport) table(w io.Writer) {
	fmt.Fprintf(w, "split %s", r.Split)
	switch {
	case r.Ratio > 0:
		fmt.Fprintf(w, " (ratio %g, seed %d)", r.Ratio, r.Seed)
	case r.Cutoff != "":
		fmt.Fprintf(w, " (cutoff %s)", r.Cutoff)
	case r.N > 0:
		fmt.Fprintf(w, " (n %d, seed %d)", r.N, r.Seed)
	}
	fmt.Fprintf(w, ": %d training events, %d held-out pairs, %d test users", r.TrainEvents, r.TestPairs, r.Users)
	if r.ColdUsers > 0 {
		fmt.Fprintf(w, " (%d cold users left out)", r.ColdUsers)
	}
	fmt.Fprintf(w, "\nk %d, top-n %d, affinity %s, half-life %g days", r.K, r.TopN, r.Affinity, r.HalfLife)
	if r.UserLists > 0 {
		fmt.Fprintf(w, ", user lists %d (depth %d)", r.UserLists, r.UserDepth)
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tprecision@k\trecall@k\tndcg@k\tmap\tmap@k\tcoverage\tmean pop\tusers\tseconds\t")
	for _, row := range r.Models {
		if row.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\n", row.Model, row.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%.2f\t\n", row.Model, row.Precision, row.Recall,
			row.NDCG, row.MAP, row.MAPAtK, row.Coverage, row.MeanPopularity, row.Users, row.Seconds)
	}
	tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/recopub/recopub/publish"
)

// scored is one item of an answer.
type scored struct {
	Item  string `json:"item"`
	Score score  `json:"score"`
}

// similarAnswer is the answer of /v1/similar.
type similarAnswer struct {
	Item    string   `json:"item"`
	Version string   `json:"version"`
	Items   []scored `json:"items"`
}

func (s *Server) similar(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "n")
	if err != nil {
		return err
	}
	n, err := s.count(q)
	if err != nil {
		return err
	}
	item, err := pathID(r, similarPrefix)
	if err != nil {
		return err
	}
	nb, v, err := s.cl.Neighbors(r.Context(), item, n)
	if err != nil {
		return err
	}
	out := similarAnswer{Item: item, Version: v, Items: make([]scored, len(nb))}
	for i, x := range nb {
		out.Items[i] = scored{x.Item, score(x.Score)}
	}
	return writeJSON(w, r, out)
}

func (s *Server) recommend(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r, "n", "exclude")
	if err != nil {
		return err
	}
	n, err := s.count(q)
	if err != nil {
		return err
	}
	var opt publish.RecommendOptions
	if ex := q.Get("exclude"); ex != "" {
		opt.Exclude = splitList(ex)
		if len(opt.Exclude) > maxExclude {
			return fmt.Errorf("exclude: %d items: %w (at most %d)", len(opt.Exclude), errBadRequest, maxExclude)
		}
	}
	user, err := pathID(r, recommendPrefix)
	if err != nil {
		return err
	}
	rec, err := s.cl.Recommend(r.Context(), user, n, opt)
	if err != nil {
		return err
	}
	return writeJSON(w, r, rec)
}

// splitList splits a comma-separated list, dropping empty elements.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// versionJSON is one version as /v1/versions shows it: no manifest, whose
// inputs name files of the machine that ran the job.
type versionJSON struct {
	ID        string           `json:"id"`
	CreatedAt time.Time        `json:"created_at"`
	Status    string           `json:"status"`
	Live      bool             `json:"live"`
	Lists     map[string]int64 `json:"lists,omitempty"`
	Hashes    int64            `json:"hashes"`
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	ctx, cancel := s.withTimeout(r.Context())
	defer cancel()
	vs, err := publish.Versions(ctx, s.rdb, s.opt.Keys)
	if err != nil {
		return fmt.Errorf("%w: %w", publish.ErrUnavailable, err)
	}
	out := struct {
		Live     string        `json:"live"`
		Versions []versionJSON `json:"versions"`
	}{Versions: make([]versionJSON, 0, len(vs))}
	for _, v := range vs {
		if v.Live {
			out.Live = v.ID
		}
		out.Versions = append(out.Versions, versionJSON{v.ID, v.CreatedAt, v.Status, v.Live, v.Lists, v.Hashes})
	}
	return writeJSON(w, r, out)
}

// healthz answers 200 when Redis answers and a version is live.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := s.withTimeout(r.Context())
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping: %w: %w", publish.ErrUnavailable, err)
	}
	v, err := s.cl.Version(ctx)
	if err != nil {
		return err
	}
	return writeJSON(w, r, struct {
		Status  string `json:"status"`
		Version string `json:"version"`
	}{"ok", v})
}

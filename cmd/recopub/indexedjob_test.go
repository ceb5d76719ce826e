package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"go.yaml.in/yaml/v3"
)

// k8sJob is the part of a batch/v1 Job that docs/deploy/indexed-job.yaml
// must get right.
type k8sJob struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		CompletionMode       string `yaml:"completionMode"`
		Completions          *int   `yaml:"completions"`
		Parallelism          *int   `yaml:"parallelism"`
		BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
		Template             struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Name string   `yaml:"name"`
					Args []string `yaml:"args"`
					Env  []k8sEnv `yaml:"env"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sEnv struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom struct {
		FieldRef struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

// readJobs decodes every document of a multi-document YAML file.
func readJobs(t *testing.T, path string) []k8sJob {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	var jobs []k8sJob
	for {
		var j k8sJob
		err := dec.Decode(&j)
		if errors.Is(err, io.EOF) {
			return jobs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		jobs = append(jobs, j)
	}
}

// TestIndexedJobManifest checks docs/deploy/indexed-job.yaml: an Indexed
// Job whose pods take their shard from JOB_COMPLETION_INDEX, defined
// before RECOPUB_SHARD refers to it, with one shard count throughout,
// and a flip Job. Then it runs what the manifest runs: each pod's args
// and environment (RECOPUB_SHARD expanded as Kubernetes does, the
// cluster's paths and URL replaced by the test's), and the flip Job's,
// which finds the version already live.
func TestIndexedJobManifest(t *testing.T) {
	jobs := readJobs(t, "../../docs/deploy/indexed-job.yaml")
	if len(jobs) != 2 {
		t.Fatalf("%d documents, want the shards' Job and the flip's", len(jobs))
	}
	shards, flip := jobs[0], jobs[1]
	for _, j := range jobs {
		if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Spec.Template.Spec.RestartPolicy != "Never" || len(j.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("want batch/v1 Jobs with restartPolicy Never and one container: %+v", j)
		}
	}
	sp := shards.Spec
	if sp.CompletionMode != "Indexed" || sp.Completions == nil || sp.Parallelism == nil || sp.BackoffLimitPerIndex == nil {
		t.Fatalf("shards' Job: completionMode %q, completions %v, parallelism %v, backoffLimitPerIndex %v",
			sp.CompletionMode, sp.Completions, sp.Parallelism, sp.BackoffLimitPerIndex)
	}
	n := *sp.Completions
	c := sp.Template.Spec.Containers[0]
	var shardValue string
	for k, e := range c.Env {
		switch e.Name {
		case "JOB_COMPLETION_INDEX":
			if e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("JOB_COMPLETION_INDEX from %q", e.ValueFrom.FieldRef.FieldPath)
			}
		case shardEnv:
			shardValue = e.Value
			if !strings.Contains(e.Value, "$(JOB_COMPLETION_INDEX)") || !slices.ContainsFunc(c.Env[:k], func(e k8sEnv) bool { return e.Name == "JOB_COMPLETION_INDEX" }) {
				t.Errorf("%s=%q: want $(JOB_COMPLETION_INDEX), defined earlier in env", shardEnv, e.Value)
			}
		}
	}
	if want := "$(JOB_COMPLETION_INDEX)/" + strconv.Itoa(n); shardValue != want {
		t.Fatalf("%s=%q, want %q (completions is %d)", shardEnv, shardValue, want, n)
	}
	flipArgs := flip.Spec.Template.Spec.Containers[0].Args
	if !containsArg(flipArgs, "--shards="+strconv.Itoa(n)) || !containsArg(flipArgs, "--version=VERSION_ID") || flipArgs[0] != "flip" {
		t.Fatalf("flip Job args %v: want flip --version=VERSION_ID --shards=%d", flipArgs, n)
	}
	if !containsArg(c.Args, "--version=VERSION_ID") || !containsArg(c.Args, "--flip-when-complete") || c.Args[0] != "run" {
		t.Fatalf("shards' args %v: want run --version=VERSION_ID --flip-when-complete", c.Args)
	}

	dir := MustGenSmall(t)
	s := redistest.Start(t)
	version := publish.NewVersionID(time.Now())
	cfg := writeTestConfig(t)
	local := func(args []string) []string {
		var out []string
		for _, a := range args {
			a = strings.ReplaceAll(a, "VERSION_ID", version)
			switch {
			case strings.HasPrefix(a, "--config="):
				a = "--config=" + cfg
			case strings.HasPrefix(a, "--events="):
				a = "--events=" + filepath.Join(dir, "events")
			case strings.HasPrefix(a, "--profiles="):
				a = "--profiles=" + filepath.Join(dir, "profiles")
			case strings.HasPrefix(a, "--redis-password-file="):
				continue
			}
			out = append(out, a)
		}
		return out
	}
	for i := range n {
		env := map[string]string{
			"JOB_COMPLETION_INDEX": strconv.Itoa(i),
			shardEnv:               strings.ReplaceAll(shardValue, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i)),
			"REDIS_URL":            s.URL(),
		}
		code, stdout, stderr := runEnv(t, env, local(c.Args)...)
		if code != 0 || !strings.Contains(stdout, "published shard "+env[shardEnv]+" of version "+version) {
			t.Fatalf("pod %d: exit %d: %s%s", i, code, stdout, stderr)
		}
		if last := i == n-1; last != strings.Contains(stdout, "the version is live") {
			t.Fatalf("pod %d of %d: %s", i, n, stdout)
		}
	}
	code, stdout, stderr := runEnv(t, map[string]string{"REDIS_URL": s.URL()}, local(flipArgs)...)
	if code != 0 || !strings.Contains(stdout, "is already live") {
		t.Fatalf("flip Job: exit %d: %s%s", code, stdout, stderr)
	}
	if live, _ := publish.Live(context.Background(), s.Client(t), publish.Keys{}); live != version {
		t.Fatalf("live %q, want %s", live, version)
	}
}

// writeTestConfig writes a config like the nightly example's, for the
// small export.
func writeTestConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nightly.yaml")
	cfg := "model:\n  metric: cosine\n  top_n: 10\npublish:\n  keep: 2\n  grace: 15m\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func containsArg(args []string, a string) bool { return slices.Contains(args, a) }

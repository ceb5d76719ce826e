package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestImageDefinition checks what the deploy files promise without a
// container tool: the Dockerfile builds a static binary in a builder
// stage and runs it as a non-root user on distroless or scratch, and the
// CronJob runs the image 'make image' builds.
func TestImageDefinition(t *testing.T) {
	df := mustRead(t, "../../Dockerfile")
	for _, want := range []string{"CGO_ENABLED=0", "AS build", "COPY --from=build", "ENTRYPOINT [\"/usr/local/bin/recopub\"]"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	base := regexp.MustCompile(`(?m)^ARG BASE_IMAGE=(\S+)`).FindStringSubmatch(df)
	if base == nil || !strings.HasPrefix(base[1], "gcr.io/distroless/static") && base[1] != "scratch" {
		t.Errorf("final stage base %v, want distroless static or scratch", base)
	}
	user := regexp.MustCompile(`(?m)^USER (\d+)`).FindStringSubmatch(df)
	if user == nil || user[1] == "0" {
		t.Errorf("Dockerfile USER %v, want a numeric non-root user", user)
	}
	image := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)`).FindStringSubmatch(mustRead(t, "../../Makefile"))
	if image == nil {
		t.Fatalf("Makefile has no IMAGE ?= default for 'make image'")
	}
	if cj := mustRead(t, "../../docs/deploy/cronjob.yaml"); !strings.Contains(cj, "image: "+image[1]) {
		t.Errorf("docs/deploy/cronjob.yaml does not run %s, the image 'make image' builds", image[1])
	}
}

// TestImageBuildAndRun builds the image with docker and runs the binary
// in it. It needs a running docker daemon that can pull the base images;
// without one it skips, saying which.
func TestImageBuildAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the image build takes minutes")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker not installed: the image build is not checked here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("docker daemon not usable, the image build is not checked here: %s", dockerErr(out))
	}
	df := mustRead(t, "../../Dockerfile")
	for _, m := range regexp.MustCompile(`(?m)^ARG (?:GO|BASE)_IMAGE=(\S+)`).FindAllStringSubmatch(df, -1) {
		if out, err := exec.CommandContext(ctx, "docker", "pull", "-q", m[1]).CombinedOutput(); err != nil {
			t.Skipf("cannot pull base image %s, the image build is not checked here: %s", m[1], dockerErr(out))
		}
	}
	tag := "recopub-test:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	build := exec.CommandContext(ctx, "docker", "build", "-t", tag, ".")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	// --help lists the commands; 'version' is run too once it is one.
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", tag, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage:") {
		t.Fatalf("recopub --help in the image: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "\n  version") {
		if out, err := exec.CommandContext(ctx, "docker", "run", "--rm", tag, "version").CombinedOutput(); err != nil {
			t.Fatalf("recopub version in the image: %v\n%s", err, out)
		}
	}
	uid, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Config.User}}", tag).Output()
	if err != nil || strings.TrimSpace(string(uid)) == "" || strings.HasPrefix(string(uid), "0") {
		t.Errorf("image user %q (%v), want non-root", uid, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerErr is the last line of docker's output, where its error is.
func dockerErr(b []byte) string {
	s := strings.TrimSpace(string(b))
	return s[strings.LastIndex(s, "\n")+1:]
}

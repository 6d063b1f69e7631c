// Package devstack starts the embedded development stack: a private PostgreSQL cluster and
// the Temporal dev server, from binaries already on the machine, so `make dev` and the
// tests need no containers and no downloads.
package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseName is the database StartPostgres creates for the application.
const DatabaseName = "jobmanager"

// pgSuperuser owns the cluster; initdb runs with -U postgres, so the name is fixed.
const pgSuperuser = "postgres"

// Postgres is a private PostgreSQL cluster running from the local server binaries.
type Postgres struct {
	// URL connects to the jobmanager database as the superuser, over TCP on loopback.
	URL string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// DataDir is the cluster's data directory.
	DataDir string
	// SocketDir holds the Unix socket, for `psql -h SocketDir -p Port -U postgres`.
	SocketDir string
	// LogFile is the server log.
	LogFile string
	// Reused is true when a server already running on DataDir was adopted.
	Reused bool

	binDir string
	// asRoot: the server refuses to run as root, so every server binary then runs as
	// the postgres user through runuser.
	asRoot       bool
	ownSocketDir bool

	mu       sync.Mutex
	stopped  bool
	watchdog *exec.Cmd
	// watchdogPipe is the write end of the watchdog's stdin; when this process exits,
	// however it exits, the kernel closes it and the watchdog cleans up.
	watchdogPipe *os.File
}

// StartPostgres starts (or, after a killed run, adopts) a PostgreSQL cluster in dataDir,
// creating the cluster with initdb when dataDir holds none yet, and makes sure the
// jobmanager database exists. Data in dataDir survives Stop and a later StartPostgres.
// logf may be nil.
func StartPostgres(ctx context.Context, dataDir string, logf func(format string, args ...any)) (*Postgres, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	binDir, err := pgFindBinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("postgres data dir %q: %w", dataDir, err)
	}
	p := &Postgres{
		DataDir: abs,
		LogFile: filepath.Join(abs, "postgres.log"),
		binDir:  binDir,
		asRoot:  os.Geteuid() == 0,
	}

	initialized := pgFileExists(filepath.Join(abs, "PG_VERSION"))
	if initialized {
		reused, err := p.handleRunningServer(ctx, logf)
		if err != nil {
			return nil, err
		}
		if reused {
			if err := p.ensureDatabase(ctx); err != nil {
				return nil, err
			}
			return p, nil
		}
	}
	if err := p.prepareDataDir(initialized); err != nil {
		return nil, err
	}
	if !initialized {
		start := time.Now()
		if _, err := p.run(ctx, "initdb", "-D", abs, "-A", "trust", "-U", pgSuperuser, "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
			return nil, fmt.Errorf("initdb %s: %w", abs, err)
		}
		logf("postgres: created cluster in %s (%s)", abs, time.Since(start).Round(time.Millisecond))
	}
	if err := p.start(ctx); err != nil {
		p.removeSocketDir()
		return nil, err
	}
	logf("postgres: listening on 127.0.0.1:%d, data %s, log %s", p.Port, abs, p.LogFile)
	if err := p.ensureDatabase(ctx); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// DatabaseURL is the URL of another database on the same server.
func (p *Postgres) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", pgSuperuser, p.Port, name)
}

// Stop shuts the server down (fast mode: open sessions are ended) and keeps the data.
// Stopping twice is harmless.
func (p *Postgres) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil
	}
	p.stopped = true
	var errs []error
	if pgFileExists(filepath.Join(p.DataDir, "postmaster.pid")) {
		// A short timeout: a dev server with fsync off has little to flush, and a
		// hanging stop must not hang the test binary or `make dev` on its way out.
		if _, err := p.run(context.Background(), "pg_ctl", "-D", p.DataDir, "-m", "fast", "-w", "-t", "30", "stop"); err != nil &&
			pgFileExists(filepath.Join(p.DataDir, "postmaster.pid")) {
			errs = append(errs, fmt.Errorf("stop postgres in %s: %w", p.DataDir, err))
		}
	}
	p.removeSocketDir()
	if p.watchdogPipe != nil {
		// The watchdog now finds the server stopped and only removes what it was told to;
		// waiting for it keeps a following StartPostgres from racing its rm -rf.
		_ = p.watchdogPipe.Close()
		_ = p.watchdog.Wait()
		watchdogs.Delete(p)
		p.watchdogPipe, p.watchdog = nil, nil
	}
	return errors.Join(errs...)
}

// StopOnExit makes sure the server does not outlive this process: a small watchdog
// process stops it (and, with removeDataDir, deletes DataDir) as soon as this process
// ends, also when it is killed and cannot run deferred code. Tests use it with
// removeDataDir so no cluster or data is left behind.
func (p *Postgres) StopOnExit(removeDataDir bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errors.New("postgres already stopped")
	}
	if p.watchdog != nil {
		return errors.New("postgres watchdog already running")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("postgres watchdog pipe: %w", err)
	}
	defer r.Close()
	remove := "0"
	if removeDataDir {
		remove = "1"
	}
	sock := ""
	if p.ownSocketDir {
		sock = p.SocketDir
	}
	stop := p.command("pg_ctl", "-D", p.DataDir, "-m", "fast", "-w", "-t", "30", "stop")
	// read returns at EOF, which comes when every copy of the write end is closed, that
	// is when this process is gone (Go opens files close-on-exec, so no child holds it).
	script := `read -r _; rm_data=$1; data=$2; sock=$3; shift 3; "$@" >/dev/null 2>&1; ` +
		`if [ -n "$sock" ]; then rm -rf "$sock"; fi; if [ "$rm_data" = 1 ]; then rm -rf "$data"; fi`
	args := append([]string{"-c", script, "jobmanager-pg-watchdog", remove, p.DataDir, sock}, stop.Args...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = pgCleanEnv()
	cmd.Stdin = r
	// Its own process group: Ctrl-C in a terminal must not kill the watchdog before it
	// has done its job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start postgres watchdog: %w", err)
	}
	p.watchdog, p.watchdogPipe = cmd, w
	watchdogs.Store(p, w)
	return nil
}

// watchdogs keeps every watchdog's pipe reachable: an *os.File closes itself when
// garbage collected, which would stop the server under a caller that kept only the URL.
var watchdogs sync.Map

// handleRunningServer deals with a postmaster.pid left in an initialized data dir. A
// healthy server of an earlier, killed run is adopted (reused is true); one that is not
// usable is stopped; a lock file whose process is gone, or belongs to something else, is
// removed.
func (p *Postgres) handleRunningServer(ctx context.Context, logf func(string, ...any)) (reused bool, err error) {
	pidFile := filepath.Join(p.DataDir, "postmaster.pid")
	info, ok := pgReadPidFile(pidFile)
	if !ok {
		return false, nil
	}
	switch p.isOurPostmaster(info.pid) {
	case postmasterGone:
		logf("postgres: removing stale %s (pid %d is gone)", pidFile, info.pid)
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("remove stale %s: %w", pidFile, err)
		}
		return false, nil
	case postmasterOther:
		logf("postgres: removing stale %s (pid %d is another process)", pidFile, info.pid)
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("remove stale %s: %w", pidFile, err)
		}
		return false, nil
	}
	if info.status == "ready" && info.port > 0 && pgLoopbackReachable(info.port) {
		p.Port = info.port
		p.SocketDir = info.socketDir
		// The killed run's socket dir is ours to remove once we stop the server.
		p.ownSocketDir = strings.HasPrefix(filepath.Base(info.socketDir), "jobmanager-pg-")
		p.URL = p.DatabaseURL(DatabaseName)
		p.Reused = true
		logf("postgres: reusing server already running on 127.0.0.1:%d (pid %d, data %s)", info.port, info.pid, p.DataDir)
		return true, nil
	}
	logf("postgres: stopping unusable server (pid %d, status %q) in %s", info.pid, info.status, p.DataDir)
	if _, err := p.run(ctx, "pg_ctl", "-D", p.DataDir, "-m", "immediate", "-w", "-t", "30", "stop"); err != nil {
		return false, fmt.Errorf("stop earlier postgres (pid %d) in %s: %w", info.pid, p.DataDir, err)
	}
	return false, nil
}

// prepareDataDir creates the data dir and, as root, hands it to the postgres user, which
// the server insists on.
func (p *Postgres) prepareDataDir(initialized bool) error {
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return fmt.Errorf("create postgres data dir: %w", err)
	}
	if !p.asRoot {
		return nil
	}
	uid, gid, err := postgresIDs()
	if err != nil {
		return err
	}
	if initialized {
		// A cluster copied or restored by root has the wrong owner; the server refuses it.
		st, err := os.Stat(p.DataDir)
		if err != nil {
			return fmt.Errorf("postgres data dir: %w", err)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != uid {
			if err := pgChownTree(p.DataDir, uid, gid); err != nil {
				return err
			}
		}
	} else if err := os.Chown(p.DataDir, uid, gid); err != nil {
		return fmt.Errorf("chown postgres data dir: %w", err)
	}
	if err := os.Chmod(p.DataDir, 0o700); err != nil {
		return fmt.Errorf("chmod postgres data dir: %w", err)
	}
	// Fail with advice instead of initdb's "Permission denied" when a parent directory
	// (say /root) is closed to the postgres user.
	if err := exec.Command("runuser", "-u", pgSuperuser, "--", "test", "-w", p.DataDir, "-a", "-x", p.DataDir).Run(); err != nil {
		return fmt.Errorf("user postgres cannot use %s: every parent directory must be searchable by it (chmod o+x), or choose a data dir under %s", p.DataDir, os.TempDir())
	}
	return nil
}

// start launches the server on a free loopback port. The port is free when picked but
// may be taken before the server binds it, so a failed start is retried on a new port.
func (p *Postgres) start(ctx context.Context) error {
	sock, err := os.MkdirTemp("", "jobmanager-pg-")
	if err != nil {
		return fmt.Errorf("create postgres socket dir: %w", err)
	}
	p.SocketDir, p.ownSocketDir = sock, true
	if p.asRoot {
		uid, gid, err := postgresIDs()
		if err != nil {
			return err
		}
		if err := os.Chown(sock, uid, gid); err != nil {
			return fmt.Errorf("chown postgres socket dir: %w", err)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, sock)
		cmd := p.command("pg_ctl", "-D", p.DataDir, "-o", opts, "-l", p.LogFile, "-w", "-t", "60", "start")
		// Its own process group, so Ctrl-C on `make dev` reaches us and not the server
		// directly; we stop it in order.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out, err := pgRunCmd(ctx, cmd)
		if err == nil {
			p.Port = port
			p.URL = p.DatabaseURL(DatabaseName)
			return nil
		}
		lastErr = fmt.Errorf("start postgres in %s on port %d: %w%s", p.DataDir, port, err, pgLogTail(p.LogFile, out))
		if ctx.Err() != nil {
			break
		}
	}
	return lastErr
}

// ensureDatabase creates the jobmanager database unless it exists.
func (p *Postgres) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.DatabaseURL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to postgres on port %d: %w", p.Port, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", DatabaseName).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", DatabaseName, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{DatabaseName}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a concurrent start won
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", DatabaseName, err)
	}
	return nil
}

func (p *Postgres) removeSocketDir() {
	if p.ownSocketDir && p.SocketDir != "" {
		_ = os.RemoveAll(p.SocketDir)
	}
}

// command builds a server binary's command, through runuser when we are root.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(p.binDir, name)
	if p.asRoot {
		return exec.Command("runuser", append([]string{"-u", pgSuperuser, "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

func (p *Postgres) run(ctx context.Context, name string, args ...string) (string, error) {
	return pgRunCmd(ctx, p.command(name, args...))
}

// pgRunCmd runs cmd, ending it when ctx ends, and returns its combined output; the error
// carries that output, since that is where initdb and pg_ctl say what went wrong.
func pgRunCmd(ctx context.Context, cmd *exec.Cmd) (string, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = pgCleanEnv()
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return out.String(), fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, strings.TrimSpace(out.String()))
		}
		return out.String(), nil
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("%s: %w", filepath.Base(cmd.Path), ctx.Err())
	}
}

// pgCleanEnv is the environment without PG* variables: PGDATA, PGPORT or PGHOST from a
// developer's shell would silently point pg_ctl elsewhere.
func pgCleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// pgFindBinDir returns the newest /usr/lib/postgresql/<version>/bin (Debian's layout), or
// the directory of pg_ctl on PATH elsewhere.
func pgFindBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	type candidate struct {
		dir     string
		version []int
	}
	var cands []candidate
	for _, d := range dirs {
		if !pgFileExists(filepath.Join(d, "initdb")) || !pgFileExists(filepath.Join(d, "pg_ctl")) {
			continue
		}
		var v []int
		for _, part := range strings.Split(filepath.Base(filepath.Dir(d)), ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				v = nil
				break
			}
			v = append(v, n)
		}
		if v != nil {
			cands = append(cands, candidate{d, v})
		}
	}
	if len(cands) > 0 {
		sort.Slice(cands, func(i, j int) bool {
			a, b := cands[i].version, cands[j].version
			for k := 0; k < len(a) && k < len(b); k++ {
				if a[k] != b[k] {
					return a[k] > b[k]
				}
			}
			return len(a) > len(b)
		})
		return cands[0].dir, nil
	}
	if pgctl, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(pgctl)
		if pgFileExists(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries: none in /usr/lib/postgresql/<version>/bin nor initdb and pg_ctl on PATH (Debian: apt-get install postgresql)")
}

type pgPidInfo struct {
	pid       int
	port      int
	socketDir string
	status    string
}

// pgReadPidFile parses postmaster.pid: pid, data dir, start time, port, socket dir,
// listen address, shared memory key, status.
func pgReadPidFile(path string) (pgPidInfo, bool) {
	f, err := os.Open(path)
	if err != nil {
		return pgPidInfo{}, false
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) == 0 {
		return pgPidInfo{}, false
	}
	var info pgPidInfo
	info.pid, err = strconv.Atoi(lines[0])
	if err != nil || info.pid <= 0 {
		return pgPidInfo{}, false
	}
	if len(lines) > 3 {
		info.port, _ = strconv.Atoi(lines[3])
	}
	if len(lines) > 4 {
		info.socketDir = lines[4]
	}
	if len(lines) > 7 {
		info.status = lines[7]
	}
	return info, true
}

type postmasterState int

const (
	postmasterGone postmasterState = iota
	postmasterOther
	postmasterOurs
)

// isOurPostmaster tells whether pid is alive and a server of this data dir. PIDs are
// reused (a container restarts with low PIDs), so a live PID alone proves nothing: a
// postmaster's working directory is its data dir.
func (p *Postgres) isOurPostmaster(pid int) postmasterState {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return postmasterGone
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		// Without /proc we cannot tell; treating it as ours is the cautious choice,
		// pg_ctl then decides.
		return postmasterOurs
	}
	want, err := filepath.EvalSymlinks(p.DataDir)
	if err != nil {
		want = p.DataDir
	}
	if filepath.Clean(cwd) == filepath.Clean(want) {
		return postmasterOurs
	}
	return postmasterOther
}

func pgLoopbackReachable(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func postgresIDs() (uid, gid int, err error) {
	u, err := user.Lookup(pgSuperuser)
	if err != nil {
		return 0, 0, fmt.Errorf("running as root needs the system user postgres: %w", err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, fmt.Errorf("uid of postgres: %w", err)
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("gid of postgres: %w", err)
	}
	return uid, gid, nil
}

func pgChownTree(root string, uid, gid int) error {
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("chown %s to postgres: %w", root, err)
	}
	return nil
}

// pgLogTail returns the end of the server log (or of pg_ctl's output), which names the
// reason a start failed, such as a port already in use.
func pgLogTail(path, fallback string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		if fallback = strings.TrimSpace(fallback); fallback != "" {
			return "\n" + fallback
		}
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\n" + path + ":\n" + strings.Join(lines, "\n")
}

func pgFileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

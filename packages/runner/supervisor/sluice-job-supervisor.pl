#!/usr/bin/env perl
# The job supervisor of one Sluice worker: it starts the worker's jobs, watches them, and makes sure
# that no process of a job outlives the job or the worker.
#
# Why a process of its own: node's child_process.spawn blocks the worker's event loop for milliseconds
# per job (fork of a large process), and so does opening each job's log files. This small process
# forks in a fraction of that and opens the log files in the child. It is also what the OS needs to
# clean up: a child subreaper (orphans of the jobs become its children) with a parent-death signal
# (it dies with the worker, even when the worker's whole process group is SIGKILLed, because the
# worker starts it in a session of its own).
#
# Protocol (one JSON object per line; the TS side is packages/runner/src/worker/job-supervisor.ts):
#   worker -> supervisor, on stdin:
#     {"op":"start","id":N,"command":S,"cwd":S,"stdout":PATH,"stderr":PATH,
#      "env":{K:V...},"unset":[K...],"sample_ms":N}   env/unset: changes to the supervisor's own environment
#     {"op":"kill","id":N,"signal":"TERM"|"KILL"|"INT"|"HUP"|"USR1"|"USR2"}
#     {"op":"shutdown"}                             SIGKILL everything, report the exits, then "bye"
#   supervisor -> worker, on stdout:
#     {"ev":"ready","pid":N,"protocol":1,"pdeathsig":B,"subreaper":B,"warnings":[S...]}
#     {"ev":"started","id":N,"pid":N}               the job runs: bash -c, or a plain command exec'd itself (pid = its group and session)
#     {"ev":"error","id":N|null,"message":S}        the job could not start (log file, cwd, fork, exec)
#     {"ev":"exited","id":N,"code":N|null,"signal":N|null,"leftovers":B,"unkillable":B}
#                                                  sent once nothing of the job is left
#     {"ev":"sample","id":N,"rss_bytes":N,"cpu_percent":F,"processes":N}
#     {"ev":"log","level":"warn"|"error","message":S}
#     {"ev":"bye","unkillable":B}                   last line before the supervisor exits
#   Usage: perl sluice-job-supervisor.pl --parent <pid of the worker>
use 5.014;
use strict;
use warnings;
use Config      ();
use Fcntl       ();
use POSIX       ();
use Time::HiRes ();

use constant {
  PROTOCOL               => 1,
  PR_SET_PDEATHSIG       => 1,
  PR_GET_PDEATHSIG       => 2,
  PR_SET_CHILD_SUBREAPER => 36,
  PR_GET_CHILD_SUBREAPER => 37,
  MARKER                 => 'SLUICE_SUPERVISOR_JOB',
  DRAIN_POLL             => 0.01,    # s between checks for what a finished job left behind
  GIVE_UP_AFTER          => 10,      # s after which processes that ignore SIGKILL (D state) are given up on
  SCAN_INTERVAL          => 1,       # s between looks at adopted orphans while jobs run
  # fields of /proc/<pid>/stat, counted from the one after the command name (field 3 = index 0)
  ST_PPID  => 1,
  ST_PGRP  => 2,
  ST_UTIME => 11,
  ST_RSS   => 21,
};

my %SIGNALS = (
  TERM => POSIX::SIGTERM(), KILL => POSIX::SIGKILL(), INT => POSIX::SIGINT(), HUP => POSIX::SIGHUP(),
  USR1 => POSIX::SIGUSR1(), USR2 => POSIX::SIGUSR2(), QUIT => POSIX::SIGQUIT(),
);

my $self   = $$;
my $parent = (@ARGV == 2 && $ARGV[0] eq '--parent' && $ARGV[1] =~ /^\d+$/) ? $ARGV[1] : undef;
die "usage: $0 --parent <pid of the worker>\n" unless defined $parent;
# JSON::PP is 1.5 MB of this process's heap, and each job's fork copies the heap's page tables and
# its exec tears them down again (fork to exec 0.67 -> 0.52 ms in a microbenchmark; 1-2% of this
# supervisor's start rate): it is loaded only for a request that the reader below cannot read,
# and replies are built by hand. The supervisor then also runs on a Perl without JSON::PP.
my $json_pp;
sub json_pp { require JSON::PP; return $json_pp //= JSON::PP->new->canonical }

my %JSON_ESCAPES = ('"' => '\\"', '\\' => '\\\\', "\n" => '\\n', "\r" => '\\r', "\t" => '\\t', "\b" => '\\b', "\f" => '\\f');

# A JSON string: bytes stay bytes (the worker reads the stream as UTF-8), as JSON::PP writes them.
sub json_str {
  my ($s) = @_;
  $s =~ s{(["\\\x00-\x1f])}{$JSON_ESCAPES{$1} // sprintf('\\u%04x', ord $1)}ge;
  return qq("$s");
}
my @warnings;

# prctl and signalfd4 have no wrapper in core Perl: syscall numbers per architecture
# (asm/unistd_64.h on x86_64, asm-generic/unistd.h on aarch64 and riscv64, powerpc's syscall.tbl).
my ($NR_PRCTL, $NR_SIGNALFD4) = do {
  my $arch = $Config::Config{archname};
  $Config::Config{ptrsize} != 8 || $arch =~ /x32/ ? ()
    : $arch =~ /^x86_64-/                         ? (157, 289)
    : $arch =~ /^(?:aarch64|arm64|riscv64)-/      ? (167, 74)
    : $arch =~ /^(?:powerpc64|ppc64)/             ? (171, 313)
    :                                               ();
};
push @warnings, "no prctl syscall number known for $Config::Config{archname}: the supervisor polls for the"
  . " worker's death and cannot find processes that leave a job's process group" unless $NR_PRCTL;

sub prctl { return $NR_PRCTL ? syscall($NR_PRCTL, $_[0], $_[1], 0, 0, 0) : -1 }

sub prctl_get {
  my $buf = pack('i', -1);
  return syscall($NR_PRCTL, $_[0], $buf, 0, 0, 0) == 0 ? unpack('i', $buf) : -1;
}

# Each setting is read back: a wrong syscall number shows before anything else relies on it.
my $subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 && prctl_get(PR_GET_CHILD_SUBREAPER) == 1;
push @warnings, "not a child subreaper ($!): processes that leave a job's process group are not cleaned up"
  if $NR_PRCTL && !$subreaper;
$NR_PRCTL = undef unless $subreaper;
my $pdeathsig = prctl(PR_SET_PDEATHSIG, $SIGNALS{TERM}) == 0 && prctl_get(PR_GET_PDEATHSIG) == $SIGNALS{TERM};
# The worker died before the parent-death signal was armed (or --parent is wrong): nothing to serve.
die "sluice-job-supervisor: its parent is not the worker (pid $parent)\n" if getppid() != $parent;

# Signals arrive on a signalfd, read in the select loop: no race between a signal and select().
my @CAUGHT    = (POSIX::SIGCHLD(), POSIX::SIGTERM(), POSIX::SIGINT(), POSIX::SIGHUP());
my $orig_mask = POSIX::SigSet->new;
my ($sigfh, $signalled);
if ($NR_SIGNALFD4) {
  my $bits = 0;
  $bits |= 1 << ($_ - 1) for @CAUGHT;
  POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new(@CAUGHT), $orig_mask);
  my $fd = syscall($NR_SIGNALFD4, -1, pack('Q', $bits), 8, 0);
  if ($fd >= 0 && open($sigfh, '<&=', $fd)) {
    fcntl($sigfh, Fcntl::F_SETFD(), Fcntl::FD_CLOEXEC());
    fcntl($sigfh, Fcntl::F_SETFL(), Fcntl::O_NONBLOCK());
  } else {
    push @warnings, "signalfd failed ($!): falling back to signal handlers";
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $orig_mask);
    undef $sigfh;
  }
}
unless ($sigfh) {
  $SIG{CHLD} = sub { };    # only to interrupt select()
  $SIG{$_} = sub { $signalled = 1 } for qw(TERM INT HUP);
}
$SIG{PIPE} = 'IGNORE';    # a dead worker shows as EPIPE; reset to the default in every job
binmode STDIN;
binmode STDOUT;
fcntl(STDOUT, Fcntl::F_SETFL(), fcntl(STDOUT, Fcntl::F_GETFL(), 0) | Fcntl::O_NONBLOCK());

my $CLK_TCK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
my $PAGE    = POSIX::sysconf(POSIX::_SC_PAGESIZE()) || 4096;
sub now { Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) }

my %jobs;       # id => job: {id, pid, state: starting|running|draining|failed, ...}
my %by_pid;     # main pid => job, until the main process is reaped
my %orphans;    # pid => {job => id} or {waits => {id => 1}}: descendants of jobs adopted by the subreaper
my ($inbuf, $outbuf) = ('', '');
my ($shutdown_at, $worker_gone, $stdin_eof, $no_children) = (undef, 0, 0, 1);
my $next_scan = 0;

sub emit { $outbuf .= $_[0] . "\n" }
sub bool        { $_[0] ? 'true' : 'false' }
sub int_or_null { defined $_[0] ? int($_[0]) : 'null' }
sub emit_error  { emit(sprintf('{"ev":"error","id":%s,"message":%s}', int_or_null($_[0]), json_str($_[1]))) }
sub emit_log    { emit(sprintf('{"ev":"log","level":%s,"message":%s}', json_str($_[0]), json_str($_[1]))) }

emit(sprintf('{"ev":"ready","pid":%d,"protocol":%d,"pdeathsig":%s,"subreaper":%s,"warnings":[%s]}',
  $self, PROTOCOL, bool($pdeathsig), bool($subreaper), join(',', map { json_str($_) } @warnings)));

sub read_stat {
  open(my $fh, '<', "/proc/$_[0]/stat") or return;
  my $s = <$fh> // return;
  my $i = rindex($s, ')');
  return $i < 0 ? undef : [split ' ', substr($s, $i + 2)];
}

# The supervisor's children: jobs' main processes and adopted orphans.
sub children {
  if (open(my $fh, '<', "/proc/$self/task/$self/children")) {
    local $/;
    return split ' ', (<$fh> // '');
  }
  opendir(my $d, '/proc') or return;    # kernels without CONFIG_PROC_CHILDREN
  return grep { /^\d+$/ && (read_stat($_) // [0, 0])->[ST_PPID] == $self } readdir $d;
}

sub running_ids { return grep { $jobs{$_}{state} eq 'running' || $jobs{$_}{state} eq 'starting' } keys %jobs }

# An adopted orphan belongs to the job named by the marker every job process inherits. One without it
# (it cleared its environment) may belong to any job running now: it is killed once all of them ended.
sub classify {
  my ($pid) = @_;
  # Unreadable (a set-uid program): it exists, but whose it is cannot be told.
  my $unmarked = sub { +{waits => {map { $_ => 1 } running_ids()}} };
  open(my $fh, '<', "/proc/$pid/environ") or return -e "/proc/$pid" ? $unmarked->() : undef;
  local $/;
  my $env = <$fh> // '';
  return $env =~ /(?:^|\0)${\MARKER}=$self:(\d+)(?:\0|$)/ ? {job => $1} : $unmarked->();
}

sub doomed {
  my ($o) = @_;
  return 1 if $shutdown_at;
  if (defined $o->{job}) {
    my $job = $jobs{$o->{job}};
    return !$job || $job->{state} ne 'running';
  }
  return !grep { $jobs{$_} && $jobs{$_}{state} =~ /^(?:running|starting)$/ } keys %{$o->{waits}};
}

# Looks at the adopted orphans; kills those whose job is over (and their process group, when they lead one).
sub scan_orphans {
  $next_scan = now() + SCAN_INTERVAL;
  for my $pid (children()) {
    next if $by_pid{$pid};
    my $o = $orphans{$pid} //= classify($pid) // next;
    kill('KILL', $pid, -$pid) if doomed($o);
  }
}

sub signal_job {
  my ($job, $sig) = @_;
  kill($sig, -$job->{pid});
  for my $pid (children()) {
    next if $by_pid{$pid};
    my $o = $orphans{$pid} //= classify($pid) // next;
    kill($sig, $pid) if defined $o->{job} && $o->{job} == $job->{id};
  }
}

sub exec_job {
  my ($r, $errw) = @_;
  my $fail = sub { syswrite($errw, $_[0]); POSIX::_exit(127) };
  POSIX::setsid() > 0 or $fail->("cannot start a session: $!");
  prctl(PR_SET_PDEATHSIG, $SIGNALS{KILL});
  POSIX::_exit(127) if getppid() != $self;    # the supervisor died before the prctl
  my $null = POSIX::open('/dev/null', POSIX::O_RDONLY()) // $fail->("cannot open /dev/null: $!");
  my $flags = POSIX::O_WRONLY() | POSIX::O_CREAT() | POSIX::O_TRUNC();
  my $out = POSIX::open($r->{stdout}, $flags, 0644) // $fail->("cannot open the stdout log $r->{stdout}: $!");
  my $err = $r->{stderr} eq $r->{stdout} ? $out
    : POSIX::open($r->{stderr}, $flags, 0644) // $fail->("cannot open the stderr log $r->{stderr}: $!");
  POSIX::dup2($null, 0) // $fail->("dup2: $!");
  POSIX::dup2($out, 1) // $fail->("dup2: $!");
  POSIX::dup2($err, 2) // $fail->("dup2: $!");
  $_ > 2 and POSIX::close($_) for $null, $out, $err;
  chdir($r->{cwd}) or $fail->("cannot change to the directory $r->{cwd}: $!");
  my $env = ref $r->{env} eq 'HASH' ? $r->{env} : {};
  $ENV{$_} = $env->{$_} for keys %$env;
  delete @ENV{@{$r->{unset}}} if ref $r->{unset} eq 'ARRAY';
  $ENV{+MARKER} = "$self:$r->{id}";
  $SIG{PIPE} = 'DEFAULT';
  $SIG{$_} = 'DEFAULT' for qw(CHLD TERM INT HUP);
  POSIX::sigprocmask(POSIX::SIG_SETMASK(), $orig_mask);
  $ENV{PWD} = $r->{cwd};    # what bash would export: the directory the job runs in
  if (my $argv = plain_command($r->{command})) {
    my $program = resolve_program($argv->[0]);
    exec {$program} @$argv if defined $program;    # on failure bash runs it and reports as it does
  }
  exec {'bash'} 'bash', '-c', $r->{command} or $fail->("cannot run bash: $!");
}

# Bash's builtins and reserved words: a command naming one runs in bash, where it means what it
# says (true and false without arguments excepted: their programs do exactly the same).
my %SHELL_WORDS = map { $_ => 1 } qw(
  . : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs
  disown echo enable eval exec exit export fc fg getopts hash help history jobs kill let local logout
  mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test
  times trap type typeset ulimit umask unalias unset wait
  if then else elif fi case esac for select while until do done in function time coproc
);

# A command bash would run as one program with these words as its arguments, split like bash
# splits it, or undef. As GNU make does, such a command skips the shell: starting bash costs more
# than most short jobs. Only characters no shell gives a meaning to qualify, and `=` only after the
# program (before it, it is an assignment).
sub plain_command {
  my ($command) = @_;
  # bash -c first reads $BASH_ENV (Lmod sets it so that `module` works in scripts), and a function
  # exported under the program's name (Lmod's `module`, `ml`) runs instead of any program.
  return undef if length($ENV{BASH_ENV} // '');
  return undef unless $command =~ m{\A[ \t]*([A-Za-z0-9_./+\-][A-Za-z0-9_./+,:\@%^\-]*)((?:[ \t]+[A-Za-z0-9_./+,:=\@%^\-]+)*)[ \t]*\z};
  my ($program, @args) = ($1, split(' ', $2));
  return undef if exists $ENV{"BASH_FUNC_$program%%"} || exists $ENV{"BASH_FUNC_$program()"};
  return undef if $SHELL_WORDS{$program} || (($program eq 'true' || $program eq 'false') && @args);
  return [$program, @args];
}

# The file bash would execute for a program name (a path, or the first executable match on PATH),
# when the kernel can run it itself: an ELF binary or a script with a #! line. Otherwise undef, and
# bash decides (a script without #! runs in bash, not in sh as execvp would run it).
sub resolve_program {
  my ($name) = @_;
  my @paths = $name =~ m{/} ? ($name) : map { length ? "$_/$name" : "./$name" } split(/:/, $ENV{PATH} // '', -1);
  for my $file (@paths) {
    next unless -f $file && -x _;
    open(my $fh, '<', $file) or return undef;
    my $head = '';
    sysread($fh, $head, 4);
    return $head eq "\x7fELF" || substr($head, 0, 2) eq '#!' ? $file : undef;
  }
  return undef;
}

sub start_job {
  my ($r) = @_;
  my $id = $r->{id};
  return emit_error(undef, 'a start request needs a numeric id') unless defined $id && !ref $id && $id =~ /^\d+$/;
  return emit_error($id, "job id $id is already in use") if $jobs{$id};
  for my $k (qw(command cwd stdout stderr)) {
    return emit_error($id, "the start request has no $k") unless defined $r->{$k} && !ref $r->{$k};
  }
  return emit_error($id, 'the job supervisor is shutting down') if $shutdown_at;
  pipe(my $rd, my $wr) or return emit_error($id, "cannot create a pipe: $!");    # close-on-exec: EOF = exec worked
  my $pid = fork;
  return emit_error($id, "cannot fork: $!") unless defined $pid;
  if ($pid == 0) {    # the child: never returns to this loop
    eval { exec_job($r, $wr) };
    syswrite($wr, "cannot start the job: $@");
    POSIX::_exit(127);
  }
  close $wr;
  my $ms = defined $r->{sample_ms} && $r->{sample_ms} =~ /^\d+(?:\.\d+)?$/ ? $r->{sample_ms} : 0;
  my $t = now();
  $jobs{$id} = $by_pid{$pid} = {
    id => $id + 0, pid => $pid, state => 'starting', pipe => $rd,
    sample_s => $ms / 1000, next_sample => $t + $ms / 1000, last_ticks => 0, last_time => $t,
  };
  $no_children = 0;
}

# Reads what the child wrote on the close-on-exec pipe: nothing means the job's program runs.
sub confirm_start {
  my ($job) = @_;
  my $msg = '';
  while (1) {
    my $n = sysread($job->{pipe}, $msg, 4096, length $msg);
    next if !defined $n && $!{EINTR};
    last unless $n;
  }
  close delete $job->{pipe};
  if (length $msg) {
    $job->{state} = 'failed';
    return emit_error($job->{id}, $msg);
  }
  $job->{state} = 'running';
  emit(sprintf('{"ev":"started","id":%d,"pid":%d}', $job->{id}, $job->{pid}));
  my $sig = delete $job->{pending_signal};
  signal_job($job, $sig) if $sig;
}

# JSON::PP's pure-Perl decoder costs as much per request as the fork: this reader does what the
# worker's JSON.stringify produces, and hands anything else to JSON::PP.
sub decode_request {
  my ($line) = @_;
  my $v = eval {
    pos($line) = 0;
    my $r = json_value(\$line);
    $line =~ /\G\s*\z/gc or die "trailing text\n";
    $r;
  };
  return $v // eval { json_pp()->decode($line) };
}

sub json_value {
  my ($s) = @_;
  $$s =~ /\G\s*/gc;
  return json_string($1) if $$s =~ /\G"((?:[^"\\]++|\\.)*+)"/gc;
  if ($$s =~ /\G\{\s*/gc) {
    my %h;
    return \%h if $$s =~ /\G\}/gc;
    while (1) {
      $$s =~ /\G\s*"((?:[^"\\]++|\\.)*+)"\s*:/gc or die "expected a key\n";
      my $k = json_string($1);
      $h{$k} = json_value($s);
      next if $$s =~ /\G\s*,/gc;
      return \%h if $$s =~ /\G\s*\}/gc;
      die "expected , or }\n";
    }
  }
  if ($$s =~ /\G\[\s*/gc) {
    my @a;
    return \@a if $$s =~ /\G\]/gc;
    while (1) {
      push @a, json_value($s);
      next if $$s =~ /\G\s*,/gc;
      return \@a if $$s =~ /\G\s*\]/gc;
      die "expected , or ]\n";
    }
  }
  return $1 + 0 if $$s =~ /\G(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/gc;
  return $1 eq 'true' ? 1 : $1 eq 'false' ? 0 : undef if $$s =~ /\G(true|false|null)/gc;
  die "unexpected JSON\n";
}

my %ESCAPES = ('"' => '"', '\\' => '\\', '/' => '/', b => "\b", f => "\f", n => "\n", r => "\r", t => "\t");

# Strings stay bytes (UTF-8 as sent); \u escapes become UTF-8 too.
sub json_string {
  my ($s) = @_;
  return $s if index($s, '\\') < 0;
  $s =~ s{\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(["\\/bfnrt]))}{
    my $c = defined $4 ? $ESCAPES{$4}
      : chr(defined $3 ? hex($3) : 0x10000 + ((hex($1) - 0xD800) << 10) + (hex($2) - 0xDC00));
    utf8::encode($c);
    $c;
  }ge;
  return $s;
}

sub handle_request {
  my ($line) = @_;
  my $r = decode_request($line);
  return emit_log('error', "unreadable request: $line") unless ref $r eq 'HASH' && defined $r->{op};
  if ($r->{op} eq 'start') {
    start_job($r);
  } elsif ($r->{op} eq 'kill') {
    my $job = defined $r->{id} && !ref $r->{id} ? $jobs{$r->{id}} : undef;
    my $sig = $SIGNALS{$r->{signal} // ''} or return emit_log('error', "kill: unknown signal in $line");
    return unless $job;    # already over: nothing to do
    if ($job->{state} eq 'starting') {
      $job->{pending_signal} = $sig unless ($job->{pending_signal} // 0) == $SIGNALS{KILL};
    } elsif ($job->{state} eq 'running') {
      signal_job($job, $sig);
    }
  } elsif ($r->{op} eq 'shutdown') {
    begin_shutdown();
  } else {
    emit_log('error', "unknown request: $line");
  }
}

sub read_requests {
  my $n = sysread(STDIN, $inbuf, 65536, length $inbuf);
  return if !defined $n && ($!{EINTR} || $!{EAGAIN});
  if (!$n) {    # the worker is gone, or closed the pipe (stop): nothing may outlive it
    $stdin_eof = 1;
    return begin_shutdown();
  }
  my $start = 0;
  while ((my $nl = index($inbuf, "\n", $start)) >= 0) {
    my $line = substr($inbuf, $start, $nl - $start);
    $start = $nl + 1;
    handle_request($line) if $line =~ /\S/;
  }
  substr($inbuf, 0, $start, '');
}

sub main_exited {
  my ($job, $status) = @_;
  if (POSIX::WIFEXITED($status)) {
    $job->{code} = POSIX::WEXITSTATUS($status);
  } else {
    $job->{signal} = POSIX::WTERMSIG($status);
  }
  $job->{state}      = 'draining';
  $job->{give_up_at} = now() + GIVE_UP_AFTER;
  # As Slurm does at the end of a step (proctrack/pgid): what the job left running is SIGKILLed at once.
  $job->{leftovers} = 1 if kill('KILL', -$job->{pid});
}

sub reap {
  my $reaped = 0;
  while (1) {
    my $pid = waitpid(-1, POSIX::WNOHANG());
    $no_children = $pid < 0 ? 1 : 0;
    last if $pid <= 0;
    my $status = $?;
    $reaped = 1;
    if (my $job = delete $by_pid{$pid}) {
      confirm_start($job) if $job->{state} eq 'starting';
      if ($job->{state} eq 'failed') {
        delete $jobs{$job->{id}};
      } else {
        main_exited($job, $status);
      }
    } elsif (my $o = delete $orphans{$pid}) {
      my $job = defined $o->{job} ? $jobs{$o->{job}} : undef;
      $job->{leftovers} = 1 if $job && $job->{state} eq 'draining';
    }
  }
  return $reaped;
}

# A finished job is reported once its process group is empty and none of its adopted orphans lives.
sub finish_drains {
  my @draining = grep { $_->{state} eq 'draining' } values %jobs or return;
  scan_orphans();    # after reap(): an orphan's children were reparented before it could be reaped
  my %holding;
  $holding{$_->{job}}++ for grep { defined $_->{job} } values %orphans;
  for my $job (@draining) {
    my $left = kill(0, -$job->{pid}) || $holding{$job->{id}};
    my $stuck = $left && now() > $job->{give_up_at};
    next if $left && !$stuck;
    emit(sprintf('{"ev":"exited","id":%d,"code":%s,"signal":%s,"leftovers":%s,"unkillable":%s}',
      $job->{id}, int_or_null($job->{code}), int_or_null($job->{signal}), bool($job->{leftovers}), bool($stuck)));
    delete $jobs{$job->{id}};
  }
}

sub begin_shutdown {
  $shutdown_at //= now();
  kill_everything();
}

sub kill_everything {
  for my $job (values %jobs) {
    kill('KILL', $job->{pid}, -$job->{pid}) if $job->{state} ne 'draining';
  }
  scan_orphans();
}

# One /proc scan for every job due a sample: a job's processes are those whose ancestry leads to its
# main process, or to an orphan it left to the subreaper.
sub sample_jobs {
  my $t   = now();
  my @due = grep { $_->{state} eq 'running' && $_->{sample_s} && $_->{next_sample} <= $t + $_->{sample_s} / 4 }
    values %jobs or return;
  my %procs;
  opendir(my $d, '/proc') or return;
  for my $pid (grep { /^\d+$/ } readdir $d) {
    my $st = read_stat($pid) or next;
    $procs{$pid} = $st;
  }
  my (%owner, %sum);
  for my $pid (keys %procs) {
    my $id = owner_of($pid, \%procs, \%owner);
    next if $id eq '';
    my $st = $procs{$pid};
    my $s  = $sum{$id} //= [0, 0, 0];
    $s->[0] += $st->[ST_RSS] * $PAGE;
    $s->[1] += $st->[ST_UTIME] + $st->[ST_UTIME + 1] + $st->[ST_UTIME + 2] + $st->[ST_UTIME + 3];
    $s->[2]++;
  }
  for my $job (@due) {
    my ($rss, $ticks, $n) = @{$sum{$job->{id}} // [0, 0, 0]};
    my $dt  = $t - $job->{last_time};
    my $cpu = $dt > 0 && $ticks > $job->{last_ticks} ? 100 * ($ticks - $job->{last_ticks}) / $CLK_TCK / $dt : 0;
    @$job{qw(last_ticks last_time next_sample)} = ($ticks, $t, $t + $job->{sample_s});
    emit(sprintf('{"ev":"sample","id":%d,"rss_bytes":%d,"cpu_percent":%.1f,"processes":%d}',
      $job->{id}, $rss, $cpu, $n));
  }
}

sub owner_of {
  my ($pid, $procs, $memo) = @_;
  my ($p, $id, @path) = ($pid, '');
  while (1) {
    if (exists $memo->{$p}) { $id = $memo->{$p}; last }
    push @path, $p;
    if (my $job = $by_pid{$p}) { $id = $job->{state} eq 'running' ? $job->{id} : ''; last }
    my $st = $procs->{$p} or last;
    my $pp = $st->[ST_PPID];
    if ($pp == $self) {
      my $o = $orphans{$p} // classify($p);
      $orphans{$p} = $o if $o;
      $id = $o && defined $o->{job} ? $o->{job} : '';
      last;
    }
    last if $pp <= 1;
    $p = $pp;
  }
  $memo->{$_} = $id for @path;
  return $id;
}

sub flush_output {
  while (length $outbuf) {
    my $n = syswrite(STDOUT, $outbuf);
    if (!defined $n) {
      return if $!{EAGAIN} || $!{EINTR};
      ($outbuf, $worker_gone) = ('', 1);    # EPIPE: the worker is gone
      return begin_shutdown();
    }
    substr($outbuf, 0, $n, '');
  }
}

sub finish {
  my ($unkillable) = @_;
  emit(sprintf('{"ev":"bye","unkillable":%s}', bool($unkillable)));
  my $until = now() + 2;
  while (length $outbuf && !$worker_gone && now() < $until) {
    my $w = '';
    vec($w, 1, 1) = 1;
    select(undef, $w, undef, 0.1);
    flush_output();
  }
  exit($unkillable ? 1 : 0);
}

while (1) {
  my $t = now();
  my @timeouts;
  push @timeouts, 0.1 unless $sigfh;                  # signal handlers can miss the select() window
  push @timeouts, 1 unless $pdeathsig;                # poll for the worker's death
  push @timeouts, DRAIN_POLL if $shutdown_at || grep { $_->{state} eq 'draining' } values %jobs;
  push @timeouts, $next_scan - $t if %jobs || %orphans;
  push @timeouts, $_->{next_sample} - $t for grep { $_->{sample_s} && $_->{state} eq 'running' } values %jobs;
  my ($timeout) = sort { $a <=> $b } @timeouts;
  $timeout = 0 if defined $timeout && $timeout < 0;

  my ($rin, $win) = ('', '');
  vec($rin, 0, 1) = 1 unless $worker_gone || $stdin_eof;
  vec($rin, fileno($sigfh), 1) = 1 if $sigfh;
  vec($rin, fileno($_->{pipe}), 1) = 1 for grep { $_->{pipe} } values %jobs;
  vec($win, 1, 1) = 1 if length $outbuf && !$worker_gone;
  my $n = select(my $rout = $rin, my $wout = $win, undef, $timeout);
  ($rout, $wout) = ('', '') if $n <= 0;

  my $term = $signalled;
  $signalled = 0;
  if ($sigfh && vec($rout, fileno($sigfh), 1)) {
    while ((sysread($sigfh, my $buf, 128 * 16) // 0) > 0) {
      for (my $i = 0; $i + 128 <= length $buf; $i += 128) {
        $term = 1 if unpack('L', substr($buf, $i, 4)) != POSIX::SIGCHLD();
      }
    }
  }
  # SIGTERM is the parent-death signal. Sent by anyone else while the worker lives (e.g. Slurm
  # signalling the whole step), it is ignored: the worker decides when its jobs stop.
  if (getppid() != $parent) {
    $worker_gone = 1;
    $outbuf      = '';
    begin_shutdown();
  } elsif ($term) {
    emit_log('warn', 'ignored a termination signal: the worker is alive and stops its jobs itself');
  }
  read_requests() if vec($rout, 0, 1);
  for my $job (grep { $_->{pipe} && vec($rout, fileno($_->{pipe}), 1) } values %jobs) {
    confirm_start($job);
  }
  reap();
  kill_everything() if $shutdown_at;
  finish_drains();
  scan_orphans() if now() >= $next_scan && (%jobs || %orphans);
  sample_jobs();
  flush_output() unless $worker_gone;
  if ($shutdown_at) {
    reap();
    finish(0) if !%jobs && $no_children && !children();
    finish(1) if now() - $shutdown_at > GIVE_UP_AFTER;
  }
}

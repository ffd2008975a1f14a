#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { InvalidInputError, TASK_STATUSES } from '@errand/core';
import { serveMcpStdio } from '@errand/tools/mcp';
import { checkToolsetRoot } from '@errand/worker/toolsets/root-policy';
import { Command, CommanderError } from 'commander';
import { CLI_SESSION, type CliFlags, settingsFrom, supervisorOptions } from './config.js';
import { runDemo } from './demo.js';
import { openSupervisor } from './open-supervisor.js';
import { resumeTask, runGoal } from './run.js';
import { defaultStorePath } from './store-choice.js';
import { listTasks, showTask } from './tasks.js';
import { plain } from './terminal-text.js';
import { checkRootExists, integerFlag, portFlag, secondsFlag, UsageError } from './usage.js';
import { readWorkerConfig, runWorker } from './worker-command.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// A reader that stops reading (`errand run … | head -2`) closes the pipe: end quietly, as `cat` does, instead of
// dying on an unhandled EPIPE with a stack trace. Worker threads end with the process.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (failure: NodeJS.ErrnoException) => {
    if (failure.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw failure;
  });
}

const write = (text: string) => process.stdout.write(text);
const error = (text: string) => process.stderr.write(text);

/** A usage error: one line on stderr, exit code 2. */
function usage(message: string): void {
  error(`errand: ${plain(message)}\n`);
  process.exitCode = 2;
}

const program = new Command('errand')
  .description('Delegate goals to background agents on worker threads.')
  .version(version, '-V, --version', 'print the version')
  .option('--root <dir>', 'folder the built-in toolsets may read (env ERRAND_ROOT)', undefined)
  .option('--base-url <url>', 'OpenAI-compatible server for a real model (env ERRAND_BASE_URL)')
  .option('--model-id <id>', 'model id on that server (env ERRAND_MODEL)')
  .option('--api-key-env <name>', 'environment variable holding the API key (env ERRAND_API_KEY_ENV)')
  .option(
    '--store <path>',
    `file that keeps tasks across commands, or "memory" to keep nothing (env ERRAND_STORE; default ${defaultStorePath()})`,
  )
  .option(
    '--session <name>',
    `errand session the commands work in (env ERRAND_SESSION; default "${CLI_SESSION}", shared by run, demo, resume, tasks, show and mcp)`,
  )
  .addHelpText(
    'after',
    '\nWithout --base-url and --model-id the offline demo model runs: deterministic, not an LLM.\n' +
      'Tasks are kept in the store: a task a crash or Ctrl-C stopped shows in `errand tasks` and goes on with `errand resume ID`.\n' +
      'Example: ERRAND_BASE_URL=http://127.0.0.1:11434/v1 ERRAND_MODEL=llama3.1 errand run "count TODOs under packages/"',
  )
  // Set before the subcommands are added, which copy them: `errand run --help` lists the global flags too, and
  // every usage error (unknown command or option, missing argument) is thrown here instead of exiting.
  .configureHelp({ showGlobalOptions: true })
  .exitOverride()
  .configureOutput({
    // Commander's messages read "error: unknown option '--x'\n(Did you mean --y?)": one line, in our voice.
    outputError: (message) =>
      usage(
        message
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim(),
      ),
  })
  .hook('preAction', () => {
    const flags = program.opts<{ root?: string }>();
    if (flags.root !== undefined) checkRootExists(flags.root, '--root');
    else if (process.env.ERRAND_ROOT) checkRootExists(process.env.ERRAND_ROOT, 'ERRAND_ROOT');
  });

const settings = () => settingsFrom(program.opts<CliFlags>());
const columns = () => (process.stdout.isTTY ? process.stdout.columns : undefined);

program
  .command('demo')
  .description('several agents work on this folder in parallel; one is steered, one cancelled, all collected')
  .option('--think-ms <ms>', 'pause of the demo model before each turn', integerFlag('--think-ms', 0))
  .action(async (options: { thinkMs?: number }) => {
    const report = await runDemo(
      { ...settings(), thinkMs: options.thinkMs },
      { tty: Boolean(process.stdout.isTTY), write, error, columns: () => process.stdout.columns },
    );
    process.exitCode = report.failed.length === 0 ? 0 : 1;
  });

program
  .command('run')
  .description('delegate one goal, stream its output; exit 0 when it completes')
  .argument('<goal>', 'what the agent should do')
  .option('--model <name>', 'model profile: demo, or remote when a base URL and model id are set')
  .option('--toolset <name...>', 'toolsets to allow: workspace, compute (default both)')
  .option('--timeout <seconds>', 'stop the task after this many seconds', secondsFlag('--timeout'))
  .option('--max-iterations <n>', 'most model turns', integerFlag('--max-iterations', 1))
  .option(
    '--json',
    'print NDJSON events (task-start, task-output, steer-delivered, task-end), then the snapshot',
  )
  .action(
    async (
      goal: string,
      options: {
        model?: string;
        toolset?: string[];
        timeout?: number;
        maxIterations?: number;
        json?: boolean;
      },
    ) => {
      process.exitCode = await runGoal(
        goal,
        settings(),
        {
          model: options.model,
          toolsets: options.toolset,
          timeoutSeconds: options.timeout,
          maxIterations: options.maxIterations,
          json: options.json,
        },
        { write, error },
      );
    },
  );

program
  .command('tasks')
  .description('list the tasks kept in the store (this session), oldest first')
  .option('--status <status>', `only tasks in this status: ${TASK_STATUSES.join(', ')}`)
  .option('--json', 'print the rows as one JSON array')
  .action(async (options: { status?: string; json?: boolean }) => {
    process.exitCode = await listTasks(settings(), options, { write, error, columns });
  });

program
  .command('show')
  .description('one task in full: status, timings, steering, the output tail and the whole result')
  .argument('<id>', 'task id (see errand tasks)')
  .option('--json', 'print the snapshot as one line of JSON')
  .action(async (id: string, options: { json?: boolean }) => {
    process.exitCode = await showTask(id, settings(), options, { write, error, columns });
  });

program
  .command('resume')
  .description(
    'go on with a stopped task (interrupted, cancelled, timed out, failed) from its last checkpoint, as a new task; streams and exits like run',
  )
  .argument('<id>', 'task id (see errand tasks)')
  .option('--timeout <seconds>', 'stop the new task after this many seconds', secondsFlag('--timeout'))
  .option(
    '--max-iterations <n>',
    'most model turns, the earlier ones included (default: the original limit)',
    integerFlag('--max-iterations', 1),
  )
  .option('--json', 'print NDJSON events, then the snapshot, as run does')
  .addHelpText(
    'after',
    '\nExit codes as for run (0 completed, 130 cancelled, 1 otherwise); 2 when the task cannot be resumed (it completed,\n' +
      'is still running, or has no checkpoint); 1 when the store holds no such task.',
  )
  .action(async (id: string, options: { timeout?: number; maxIterations?: number; json?: boolean }) => {
    process.exitCode = await resumeTask(
      id,
      settings(),
      { timeoutSeconds: options.timeout, maxIterations: options.maxIterations, json: options.json },
      { write, error },
    );
  });

program
  .command('mcp')
  .description(
    'serve the six delegation tools over MCP stdio; the file tools read only under --root DIR (or ERRAND_ROOT), which is required',
  )
  .option(
    '--allow-broad-root',
    'allow / or your home folder itself as the root (agents could then read every file under it)',
  )
  .addHelpText(
    'after',
    '\nThe root is never assumed: MCP hosts start servers in / or your home folder, so the current folder is not used.\n' +
      `Every connection works in one session (--session, default "${CLI_SESSION}") of the store, so a client that\n` +
      'reconnects can still check and collect what it delegated before, and errand tasks lists it.\n' +
      'Example: errand --root ~/code/my-project mcp',
  )
  .action(async (options: { allowBroadRoot?: boolean }) => {
    const given = program.opts<{ root?: string }>().root ?? process.env.ERRAND_ROOT;
    if (!given) {
      usage('errand mcp needs --root DIR (or ERRAND_ROOT): the folder its file tools may read');
      return;
    }
    const check = checkToolsetRoot(given);
    if (check.broad && !options.allowBroadRoot) {
      usage(`refusing root ${check.broad}; pick a project folder, or pass --allow-broad-root`);
      return;
    }
    error(`errand mcp: file tools rooted at ${check.root}${check.broad ? ' (broad root allowed)' : ''}\n`);
    const { supervisor, session, storePath } = openSupervisor(
      { ...settings(), root: check.root },
      'work',
      (line) => error(`${line}\n`),
    );
    error(`errand mcp: session "${session.id}" in ${storePath ? `the store ${storePath}` : 'memory'}\n`);
    await serveMcpStdio(supervisor, { sessionId: session.id });
  });

program
  .command('worker')
  .description(
    'take goals from a BullMQ queue in Redis and run them on this machine (scale-out; needs @errand/redis)',
  )
  .option(
    '--redis <url>',
    'Redis URL (env ERRAND_REDIS_URL)',
    process.env.ERRAND_REDIS_URL ?? 'redis://127.0.0.1:6379',
  )
  .option('--queue <name>', 'queue the supervisors enqueue on', 'errand')
  .option(
    '--config <file>',
    "JSON config (an errand.json): model, models, toolsets, limits and pool of this worker (default: the CLI's demo model and built-in toolsets under --root)",
  )
  .option(
    '--concurrency <n>',
    "tasks at once, one thread each (default: the pool's capacity, maxThreads × agentsPerThread)",
    integerFlag('--concurrency', 1),
  )
  .option(
    '--drain-ms <ms>',
    'on SIGTERM, how long running tasks may finish before they are handed back',
    integerFlag('--drain-ms', 0),
    30_000,
  )
  .option(
    '--stalled-interval-ms <ms>',
    "BullMQ's stalled-job check: a dead worker's tasks move on within about twice this",
    integerFlag('--stalled-interval-ms', 100),
    30_000,
  )
  .addHelpText(
    'after',
    '\nPrints "errand worker ready: queue NAME, concurrency N, pid P" on stderr once it takes jobs.\n' +
      'Example: errand worker --redis redis://10.0.0.5:6379 --queue errand --config errand.json --concurrency 8',
  )
  .action(
    async (options: {
      redis: string;
      queue: string;
      config?: string;
      concurrency?: number;
      drainMs: number;
      stalledIntervalMs: number;
    }) => {
      if (!/^rediss?:\/\/./.test(options.redis))
        throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${options.redis}`);
      if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(options.queue))
        throw new UsageError(`--queue must be 1 to 64 of [a-zA-Z0-9_.-], got ${options.queue}`);
      const config = options.config ? readWorkerConfig(options.config) : supervisorOptions(settings());
      process.exitCode = await runWorker(options, config, { error });
    },
  );

program
  .command('serve')
  .description('an HTTP + SSE API for the delegation operations and a live dashboard at /, until SIGTERM')
  .option('--port <port>', 'TCP port to listen on (0 picks a free one)', portFlag, 8787)
  .option(
    '--host <address>',
    'address to listen on; anything but loopback needs serve.tokens in the config',
    '127.0.0.1',
  )
  .option(
    '--config <file>',
    'errand.json: the "serve" key ({ "tokens": [{ "token" | "tokenEnv" | "tokenSha256", "session" | "sessions" }], "cors", "maxBodyBytes" }); every other key is SupervisorOptions',
  )
  .addHelpText(
    'after',
    '\nWithout tokens the API is open to this machine only and every request acts in the --session session (default\n' +
      `"${CLI_SESSION}", so the dashboard shows what errand run left in the store); --host with a non-loopback address is\n` +
      "then refused. With tokens, each request sends Authorization: Bearer <token> and sees only its session's tasks.\n" +
      'The API is described at /openapi.json. SIGTERM or Ctrl-C stops accepting, cancels the running tasks (5 s grace),\n' +
      'ends every stream with a final event and exits 0.\n' +
      'Example: ERRAND_TOKEN=$(openssl rand -hex 16) errand serve --config errand.json   # {"serve":{"tokens":[{"tokenEnv":"ERRAND_TOKEN","session":"ops"}]}}',
  )
  .action(async (options: { port: number; host: string; config?: string }) => {
    // Loaded here: the HTTP server (Hono) is only needed by this command.
    const { serveCommand } = await import('./serve-command.js');
    process.exitCode = await serveCommand(settings(), options, { error });
  });

program.parseAsync().catch((failure: unknown) => {
  if (failure instanceof CommanderError) {
    // Help and version were printed as asked; every other CommanderError was printed by outputError.
    process.exitCode = ['commander.helpDisplayed', 'commander.version'].includes(failure.code) ? 0 : 2;
    return;
  }
  // Our flag checks, and what the engine refused to accept (an unknown --model profile, a goal too long).
  if (failure instanceof UsageError || InvalidInputError.isInstance(failure)) {
    usage((failure as Error).message);
    return;
  }
  error(`errand: ${plain(failure instanceof Error ? failure.message : String(failure))}\n`);
  process.exitCode = 1;
});

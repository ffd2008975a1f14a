import { z } from 'zod';
import type { HostTool } from './host-tools.js';
import type { TaskSnapshot } from './types.js';

/**
 * The operations an orchestrator agent can run, as the engine provides them to it. Each names the parent
 * task by id: the engine finds its session and depth, and refuses a parent that is stopping or finished.
 */
export interface DelegationHost {
  delegate(parentId: string, input: Record<string, unknown>): string;
  check(parentId: string, id: string, previewLines: number): TaskSnapshot;
  collect(parentId: string, id: string, timeoutMs: number): Promise<TaskSnapshot>;
  steer(parentId: string, id: string, text: string): { seq: number };
  cancel(parentId: string, id: string, reason: string | undefined): Promise<TaskSnapshot>;
  children(parentId: string): TaskSnapshot[];
}

const brief = (snapshot: TaskSnapshot) => ({
  task_id: snapshot.id,
  status: snapshot.status,
  iterations: snapshot.iterations,
  output_preview: snapshot.preview.join('\n'),
  ...(snapshot.result === undefined ? {} : { result: snapshot.result }),
  ...(snapshot.error === undefined ? {} : { error: snapshot.error }),
  ...(snapshot.timedOut ? { timed_out: true } : {}),
});

/**
 * The delegation operations as host tools for one orchestrator task. Children are delegated in the same
 * session, one level deeper; the engine enforces `limits.maxDepth`.
 */
export function delegationTools(
  host: DelegationHost,
  parent: string,
  maxWaitMs: number,
): Record<string, HostTool> {
  const taskId = z.string().describe('A task_id returned by delegate_task.');
  return {
    delegate_task: {
      description:
        'Delegate a sub-goal to a background sub-agent; returns its task_id at once. Keep working, then collect_task.',
      input: z.object({
        goal: z.string(),
        context: z.string().optional(),
        toolsets: z.array(z.string()).optional(),
        model: z.string().optional(),
        role: z.enum(['orchestrator', 'worker']).optional(),
        max_iterations: z.number().int().positive().optional(),
        timeout_seconds: z.number().positive().optional(),
      }),
      run: (args: Record<string, unknown>) => ({ task_id: host.delegate(parent, args) }),
    } as HostTool,
    check_task: {
      description: 'Status and latest output of a delegated task, without waiting.',
      input: z.object({ task_id: taskId, preview_lines: z.number().int().min(0).max(200).optional() }),
      run: (args: { task_id: string; preview_lines?: number }) =>
        brief(host.check(parent, args.task_id, args.preview_lines ?? 10)),
    } as HostTool,
    collect_task: {
      description: 'Wait up to timeout_seconds for a delegated task to finish; returns its result.',
      input: z.object({ task_id: taskId, timeout_seconds: z.number().min(0).optional() }),
      run: async (args: { task_id: string; timeout_seconds?: number }) =>
        brief(
          await host.collect(
            parent,
            args.task_id,
            Math.min(maxWaitMs, Math.round((args.timeout_seconds ?? 60) * 1000)),
          ),
        ),
    } as HostTool,
    steer_task: {
      description: 'Send guidance to a delegated task; it lands at its next step.',
      input: z.object({ task_id: taskId, message: z.string() }),
      run: (args: { task_id: string; message: string }) => ({
        ok: true,
        seq: host.steer(parent, args.task_id, args.message).seq,
      }),
    } as HostTool,
    cancel_task: {
      description: 'Stop a delegated task; returns its partial result.',
      input: z.object({ task_id: taskId, reason: z.string().optional() }),
      run: async (args: { task_id: string; reason?: string }) =>
        brief(await host.cancel(parent, args.task_id, args.reason)),
    } as HostTool,
    list_tasks: {
      description: 'The tasks you delegated, with their status.',
      input: z.object({}),
      run: () => ({ tasks: host.children(parent).map(brief) }),
    } as HostTool,
  };
}

/** Pieces every page shares: status marks, loading and error states, polling. */
import { useCallback, useEffect, useRef, useState } from "react";
import type { ReactNode } from "react";
import { ApiError } from "./api";
import { stateOf } from "./format";

const SYMBOLS: Readonly<Record<string, string>> = {
  success: "✓",
  failure: "✗",
  cancelled: "⊘",
  skipped: "↷",
  queued: "○",
  in_progress: "◐",
  waiting: "○",
};

const WORDS: Readonly<Record<string, string>> = {
  success: "success",
  failure: "failure",
  cancelled: "cancelled",
  skipped: "skipped",
  queued: "queued",
  in_progress: "running",
  waiting: "waiting",
};

/** A status as a coloured mark with its word for screen readers (and a tooltip). */
export function StatusMark(props: { state: string; label?: boolean }) {
  const word = WORDS[props.state] ?? props.state;
  return (
    <span className={`status status-${props.state}`} title={word} data-state={props.state}>
      <span aria-hidden="true" className="status-symbol">
        {SYMBOLS[props.state] ?? "•"}
      </span>
      {props.label ? <span className="status-word">{word}</span> : <span className="sr-only">{word}</span>}
    </span>
  );
}

export function StatusOf(props: { item: { status: string; conclusion: string | null }; label?: boolean }) {
  return <StatusMark state={stateOf(props.item)} label={props.label} />;
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  const message =
    props.error instanceof ApiError || props.error instanceof Error
      ? props.error.message
      : String(props.error);
  return (
    <div className="error-box" role="alert">
      {message}
    </div>
  );
}

export function Loading() {
  return <p className="muted">Loading…</p>;
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly reload: () => void;
}

/**
 * Loads with `load` when `key` changes; reloads every `everyMs` while `keepPolling(data)` says so
 * (runs in progress), and never overlaps two loads.
 */
export function useLoad<T>(
  key: string,
  load: () => Promise<T>,
  options: { everyMs?: number; keepPolling?: (data: T) => boolean } = {},
): Loaded<T> {
  const [state, setState] = useState<{ key: string; data: T | undefined; error: unknown }>({
    key,
    data: undefined,
    error: undefined,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await loadRef.current();
        if (stopped) return;
        setState({ key, data, error: undefined });
        const { everyMs, keepPolling } = optionsRef.current;
        if (everyMs && (!keepPolling || keepPolling(data))) timer = setTimeout(run, everyMs);
      } catch (error) {
        if (stopped) return;
        setState((previous) => ({ key, data: previous.key === key ? previous.data : undefined, error }));
        const { everyMs } = optionsRef.current;
        if (everyMs) timer = setTimeout(run, everyMs * 2);
      }
    };
    void run();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick]);

  return {
    data: state.key === key ? state.data : undefined,
    error: state.key === key ? state.error : undefined,
    reload,
  };
}

export function Section(props: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  return (
    <section className="card" aria-labelledby={props.id}>
      <div className="card-head">
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

/** Copies text, saying so for a moment. */
export function CopyButton(props: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="small"
      onClick={() => {
        void navigator.clipboard?.writeText(props.text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? "Copied" : (props.label ?? "Copy")}
    </button>
  );
}

/**
 * A job's log: steps as sections with status and time, `::group::` folding, ANSI colours, numbered
 * lines with links (#L12, and #seq-N from annotations), search with next and previous, timestamps,
 * follow mode that stops when the reader scrolls up, raw download. Rows are virtualised: only the
 * lines on screen are in the DOM, whatever the log's length; past the browser's height limit the
 * scrollbar maps to the log by proportion (see log/scroll-map.ts). Live jobs stream over SSE.
 */
import { AnsiUp } from "ansi_up";
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { MouseEvent } from "react";
import { authHeaders, request, saveBlob } from "../api";
import type { EventRow, Job } from "../api";
import { ErrorBox, StatusMark, StatusOf, useLoad } from "../components";
import { between, duration } from "../format";
import { followEventStream } from "../log/event-stream";
import { LogModel } from "../log/log-model";
import type { LogEntry } from "../log/log-model";
import { useVirtualRows } from "../log/virtual-rows";
import { Link } from "../router";

const ROW_HEIGHT = 20;

const ansi = new AnsiUp();
ansi.use_classes = true;
ansi.escape_html = true;

function stepState(conclusion: string | null, running: boolean): string {
  return conclusion ?? (running ? "in_progress" : "queued");
}

/** Plain text with the search matches marked (lines without colour codes). */
function Highlighted(props: { text: string; query: string }) {
  if (!props.query) return <>{props.text}</>;
  const lower = props.text.toLowerCase();
  const wanted = props.query.toLowerCase();
  const parts = [];
  let at = 0;
  for (
    let found = lower.indexOf(wanted);
    found !== -1;
    found = lower.indexOf(wanted, found + wanted.length)
  ) {
    parts.push(props.text.slice(at, found));
    parts.push(<mark key={found}>{props.text.slice(found, found + wanted.length)}</mark>);
    at = found + wanted.length;
  }
  parts.push(props.text.slice(at));
  return <>{parts}</>;
}

interface RowProps {
  readonly entry: LogEntry;
  readonly index: number;
  readonly open: boolean;
  readonly selected: boolean;
  readonly current: boolean;
  readonly timestamps: boolean;
  readonly query: string;
  readonly jobId: number;
  readonly stepInfo: { state: string; time: string } | undefined;
  readonly onToggle: (index: number) => void;
  readonly onSelectLine: (n: number, event: MouseEvent) => void;
  /** Where the row sits in its layer (its offset from the layer's top). */
  readonly top: number;
}

const LogRow = memo(function LogRow(props: RowProps) {
  const { entry } = props;
  if (entry.kind === "step") {
    return (
      <button
        type="button"
        className="log-row log-step"
        style={{ transform: `translateY(${props.top}px)` }}
        aria-expanded={props.open}
        onClick={() => props.onToggle(props.index)}
        data-step-state={props.stepInfo?.state}
      >
        <span aria-hidden="true">{props.open ? "▾" : "▸"}</span>
        <StatusMark state={props.stepInfo?.state ?? "queued"} />
        <span className="log-step-name">{entry.text}</span>
        <span className="muted small">{props.stepInfo?.time}</span>
      </button>
    );
  }
  const classes = ["log-row", "log-line"];
  if (props.selected) classes.push("selected");
  if (props.current) classes.push("current-match");
  if (entry.kind === "annotation") classes.push(`log-annotation log-${entry.level || "notice"}`);
  if (entry.group !== -1) classes.push("in-group");
  if (entry.stream === "stderr") classes.push("stderr");
  const colours = entry.text.includes("\x1b");
  return (
    <div
      className={classes.join(" ")}
      data-line={entry.n}
      style={{ transform: `translateY(${props.top}px)` }}
    >
      <a
        className="line-number"
        href={`/jobs/${props.jobId}#L${entry.n}`}
        onClick={(e) => props.onSelectLine(entry.n, e)}
        aria-label={`Line ${entry.n}`}
      >
        {entry.n}
      </a>
      {props.timestamps ? <span className="log-time">{entry.at.slice(11, 23)}</span> : null}
      {entry.kind === "group" ? (
        <button
          type="button"
          className="log-group"
          aria-expanded={props.open}
          onClick={() => props.onToggle(props.index)}
        >
          <span aria-hidden="true">{props.open ? "▾" : "▸"}</span>{" "}
          <Highlighted text={entry.text} query={props.query} />
        </button>
      ) : colours ? (
        // ansi_up escapes the text and marks colours with classes.
        <span className="log-text" dangerouslySetInnerHTML={{ __html: ansi.ansi_to_html(entry.text) }} />
      ) : (
        <span className="log-text">
          {entry.kind === "annotation" ? <strong>{entry.level}: </strong> : null}
          <Highlighted text={entry.text} query={props.query} />
        </span>
      )}
    </div>
  );
});

function rowIndices(first: number, last: number): number[] {
  const indices: number[] = [];
  for (let index = first; index <= last; index++) indices.push(index);
  return indices;
}

/** What the URL's hash points at: `L12` (a line) or `seq-34` (an event, from an annotation). */
export function targetOfHash(hash: string): { line: number } | { seq: number } | undefined {
  const line = /^L(\d+)$/.exec(hash);
  if (line) return { line: Number(line[1]) };
  const seq = /^seq-(\d+)$/.exec(hash);
  if (seq) return { seq: Number(seq[1]) };
  return undefined;
}

export function JobLogPage(props: { jobId: number; hash: string }) {
  const { jobId } = props;
  const job = useLoad(`job:${jobId}`, () => request<Job>(`/jobs/${jobId}`), {
    everyMs: 2000,
    keepPolling: (j) => j.status !== "completed",
  });
  const model = useMemo(() => {
    void jobId;
    return new LogModel();
  }, [jobId]);
  const [version, setVersion] = useState(0);
  const [toggled, setToggled] = useState<ReadonlySet<number>>(new Set());
  const [live, setLive] = useState(false);
  const [loadError, setLoadError] = useState<unknown>();
  const [follow, setFollow] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  const [query, setQuery] = useState("");
  const [matchIndex, setMatchIndex] = useState(0);
  const [selected, setSelected] = useState<number | undefined>();
  const [ready, setReady] = useState(false);
  const scrollRef = useRef<HTMLDivElement>(null);

  // Loading: pages of rows, then the live stream from the last one for a job still running.
  useEffect(() => {
    const stop = new AbortController();
    let pending = false;
    const bump = () => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        setVersion((v) => v + 1);
      }, 100);
    };
    const load = async () => {
      // The whole log so far, streamed: the first screen shows as soon as its rows arrive.
      const response = await fetch(`/api/v1/jobs/${jobId}/logs/lines`, {
        headers: authHeaders(),
        signal: stop.signal,
      });
      if (!response.ok || !response.body) {
        await request(`/jobs/${jobId}`); // says why, as an error the page shows
        return;
      }
      const status = response.headers.get("x-job-status") ?? "completed";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = "";
      let shown = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const text = rest + value;
        const end = text.lastIndexOf("\n");
        if (end === -1) {
          rest = text;
          continue;
        }
        rest = text.slice(end + 1);
        model.append(
          text
            .slice(0, end)
            .split("\n")
            .map((line) => JSON.parse(line) as EventRow),
        );
        if (!shown && model.entries.length > 0) {
          shown = true;
          setVersion((v) => v + 1);
          setReady(true);
        } else bump();
      }
      if (stop.signal.aborted) return;
      setReady(true);
      bump();
      if (status === "completed") return;
      setLive(true);
      await followEventStream({
        url: `/api/v1/jobs/${jobId}/logs/stream`,
        headers: authHeaders(),
        lastEventId: model.lastSeq,
        signal: stop.signal,
        onEvent: (event) => {
          const seq = Number(event.id);
          if (!Number.isFinite(seq)) return;
          model.append([{ seq, event: JSON.parse(event.data) as EventRow["event"] }]);
          bump();
        },
        onEnd: () => setLive(false),
      });
      bump();
    };
    load().catch((error: unknown) => {
      if (!stop.signal.aborted) setLoadError(error);
    });
    return () => stop.abort();
  }, [jobId, model]);

  const visible = useMemo(() => {
    void version;
    return model.visible(toggled);
  }, [model, version, toggled]);
  const positionOf = useCallback(
    (entryIndex: number) => {
      // Visible indices are sorted: binary search.
      let low = 0;
      let high = visible.length - 1;
      while (low <= high) {
        const middle = (low + high) >> 1;
        const at = visible[middle] as number;
        if (at === entryIndex) return middle;
        if (at < entryIndex) low = middle + 1;
        else high = middle - 1;
      }
      return -1;
    },
    [visible],
  );

  // Scroll events set state: rendering in React's own time, not inside each event, keeps frames
  // short on fast scrolls.
  const rows = useVirtualRows(scrollRef, visible.length, ROW_HEIGHT, 12);
  const { scrollToIndex } = rows;

  const matches = useMemo(() => {
    void version;
    return query.length >= 2 ? model.search(query) : [];
  }, [model, version, query]);

  const reveal = useCallback(
    (entryIndex: number) => {
      const flips = model.revealing(entryIndex, toggled);
      if (flips.length > 0) {
        const next = new Set(toggled);
        for (const flip of flips) {
          if (next.has(flip)) next.delete(flip);
          else next.add(flip);
        }
        setToggled(next);
      }
      setFollow(false);
      return flips.length === 0;
    },
    [model, toggled],
  );

  // Scrolls to an entry once it is shown (after a reveal re-renders).
  const [scrollTarget, setScrollTarget] = useState<number | undefined>();
  useEffect(() => {
    if (scrollTarget === undefined) return;
    const position = positionOf(scrollTarget);
    if (position === -1) return;
    scrollToIndex(position, "center");
    setScrollTarget(undefined);
  }, [scrollTarget, positionOf, scrollToIndex]);

  const goToMatch = (index: number) => {
    if (matches.length === 0) return;
    const wrapped = ((index % matches.length) + matches.length) % matches.length;
    setMatchIndex(wrapped);
    const entryIndex = matches[wrapped] as number;
    reveal(entryIndex);
    setScrollTarget(entryIndex);
  };

  // The line the URL points at, once it has arrived.
  const [hashDone, setHashDone] = useState("");
  useEffect(() => {
    if (hashDone === props.hash) return;
    const target = targetOfHash(props.hash);
    if (!target) return;
    const entryIndex = "line" in target ? model.entryOfLine(target.line) : model.entryOfSeq(target.seq);
    if (entryIndex === undefined) return;
    const entry = model.entries[entryIndex] as LogEntry;
    setSelected(entry.n || undefined);
    reveal(entryIndex);
    setScrollTarget(entryIndex);
    setHashDone(props.hash);
  }, [props.hash, hashDone, model, version, reveal]);

  // Follow: keep the last line in view while the job prints, until the reader scrolls up.
  useEffect(() => {
    if (!follow || !live || visible.length === 0) return;
    scrollToIndex(visible.length - 1, "end");
  }, [follow, live, visible, scrollToIndex]);

  const onScroll = () => {
    // Only the reader's own scrolling stops following: not the list showing a row or the last line,
    // nor keeping the reader's place as lines arrive.
    const byReader = rows.onScroll();
    if (follow && byReader && !rows.atEnd()) setFollow(false);
  };

  const toggle = useCallback((index: number) => {
    setToggled((previous) => {
      const next = new Set(previous);
      if (next.has(index)) next.delete(index);
      else next.add(index);
      return next;
    });
  }, []);

  const selectLine = useCallback(
    (n: number, event: MouseEvent) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey) return;
      event.preventDefault();
      history.replaceState(null, "", `/jobs/${jobId}#L${n}`);
      setSelected(n);
    },
    [jobId],
  );

  const jobData = job.data;
  const jobRunning = jobData ? jobData.status !== "completed" : live;
  const stepInfo = (entry: LogEntry, index: number) => {
    if (entry.kind !== "step") return undefined;
    const number = model.stepNumberAt(index);
    const modelled = number === undefined ? undefined : model.steps.get(number);
    const recorded = jobData?.steps.find((s) => s.number === number);
    const time =
      modelled?.durationMs != null
        ? duration(modelled.durationMs)
        : recorded
          ? between(recorded.startedAt, recorded.finishedAt)
          : "";
    return { state: stepState(modelled?.conclusion ?? recorded?.conclusion ?? null, jobRunning), time };
  };
  const currentMatch = matches[matchIndex];

  return (
    <main className="page log-page">
      <div className="title-row">
        <h1>
          {jobData ? <StatusOf item={jobData} /> : null}{" "}
          <span data-testid="job-name">{jobData?.name ?? `Job ${jobId}`}</span>
        </h1>
        {jobData ? (
          <Link to={`/runs/${jobData.runId}${jobData.attempt ? `?attempt=${jobData.attempt}` : ""}`}>
            ← Run
          </Link>
        ) : null}
      </div>
      <ErrorBox error={job.error ?? loadError} />
      {jobData?.waitingReason ? <p className="muted">{jobData.waitingReason}</p> : null}
      <div className="log-toolbar" role="toolbar" aria-label="Log tools">
        <form
          className="log-search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            goToMatch(matchIndex + 1);
          }}
        >
          <label>
            <span className="sr-only">Search the log</span>
            <input
              type="search"
              placeholder="Search the log"
              value={query}
              onChange={(e) => {
                setQuery(e.target.value);
                setMatchIndex(-1);
              }}
              onKeyDown={(e) => {
                if (e.key === "Enter" && e.shiftKey) {
                  e.preventDefault();
                  goToMatch(matchIndex - 1);
                }
              }}
            />
          </label>
          <span className="muted small" data-testid="match-count" aria-live="polite">
            {query.length >= 2
              ? `${matchIndex < 0 || matches.length === 0 ? 0 : matchIndex + 1}/${matches.length}`
              : ""}
          </span>
          <button
            type="button"
            className="small"
            onClick={() => goToMatch(matchIndex - 1)}
            disabled={matches.length === 0}
            aria-label="Previous match"
          >
            ↑
          </button>
          <button type="submit" className="small" disabled={matches.length === 0} aria-label="Next match">
            ↓
          </button>
        </form>
        <label className="checkbox">
          <input type="checkbox" checked={timestamps} onChange={(e) => setTimestamps(e.target.checked)} />{" "}
          Timestamps
        </label>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              setFollow(e.target.checked);
              if (e.target.checked && visible.length > 0) scrollToIndex(visible.length - 1, "end");
            }}
          />{" "}
          Follow
        </label>
        <button
          type="button"
          className="small"
          onClick={() => saveBlob(new Blob([model.plainText()], { type: "text/plain" }), `job-${jobId}.log`)}
        >
          Download raw
        </button>
        <span className="muted small" data-testid="line-count">
          {model.lineCount.toLocaleString("en")} lines{live ? " · live" : ""}
        </span>
      </div>
      <div
        ref={scrollRef}
        className="log-view"
        onScroll={onScroll}
        data-testid="log-view"
        data-ready={ready ? "true" : "false"}
        tabIndex={0}
        aria-label="Log"
      >
        <div style={{ height: rows.map.spacer, position: "relative" }}>
          {/* Scaled, the rows' layer holds still at the viewport's top (sticky) and moves by `shift`;
              otherwise it is a plain box and each row sits at its own offset in the spacer. */}
          <div
            style={
              rows.map.scaled
                ? { position: "sticky", top: 0, transform: `translateY(${rows.shift}px)` }
                : undefined
            }
          >
            {rowIndices(rows.first, rows.last).map((index) => {
              const entryIndex = visible[index] as number;
              const entry = model.entries[entryIndex] as LogEntry;
              return (
                <LogRow
                  key={entryIndex}
                  top={(index - rows.base) * ROW_HEIGHT}
                  entry={entry}
                  index={entryIndex}
                  open={model.isOpen(entryIndex, toggled)}
                  selected={entry.n !== 0 && entry.n === selected}
                  current={entryIndex === currentMatch}
                  timestamps={timestamps}
                  query={query.length >= 2 ? query : ""}
                  jobId={jobId}
                  stepInfo={stepInfo(entry, entryIndex)}
                  onToggle={toggle}
                  onSelectLine={selectLine}
                />
              );
            })}
          </div>
        </div>
      </div>
    </main>
  );
}

/** Step summaries: markdown rendered by marked, then sanitised by DOMPurify before it touches the page. */
import DOMPurify from "dompurify";
import { marked } from "marked";
import { useMemo } from "react";

export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false, gfm: true });
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "iframe"],
    FORBID_ATTR: ["style"],
  });
}

export function Markdown(props: { source: string }) {
  const html = useMemo(() => renderMarkdown(props.source), [props.source]);
  // Sanitised above: the only HTML set on the page that did not come from React.
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

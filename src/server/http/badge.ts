/** Status badges (SVG) for README files: a workflow's latest result on a branch. */

const COLOURS: Readonly<Record<string, string>> = {
  success: "#2ea44f",
  failure: "#cb2431",
  cancelled: "#6a737d",
  queued: "#dbab09",
  in_progress: "#dbab09",
};

const LABELS: Readonly<Record<string, string>> = {
  success: "passing",
  failure: "failing",
  in_progress: "running",
};

/** Text widths are estimated (about 7 px a character at 11 px Verdana), as simple badges do. */
export function badgeSvg(label: string, status: string): string {
  const message = LABELS[status] ?? status;
  const colour = COLOURS[status] ?? "#9f9f9f";
  const left = 10 + label.length * 7;
  const right = 10 + message.length * 7;
  const width = left + right;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${escapeXml(label)}: ${escapeXml(message)}">
<title>${escapeXml(label)}: ${escapeXml(message)}</title>
<rect width="${left}" height="20" fill="#555"/>
<rect x="${left}" width="${right}" height="20" fill="${colour}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="${left / 2}" y="14">${escapeXml(label)}</text>
<text x="${left + right / 2}" y="14">${escapeXml(message)}</text>
</g>
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

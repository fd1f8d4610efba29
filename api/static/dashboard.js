// ChainMatch dashboard: report jobs with progress, and the decline-reason field. No dependencies.
// The script calls the same /v1 routes as an API client; the session cookie authenticates it, and
// every call that changes something carries the session's CSRF token (X-CSRF-Token).
"use strict";

const FORMAT_NAMES = { html: "HTML 图文报告", xlsx: "Excel", csv: "CSV", json: "JSON" };

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function detailText(detail) {
  // a domain error's detail is a sentence; a validation error's a list of {loc, msg}
  if (Array.isArray(detail)) return detail.map((d) => d.msg || String(d)).join("；");
  return detail || "失败";
}

function reportBody(form) {
  const data = new FormData(form);
  const province = data.get("region") || null;
  const city = data.get("city") || null;
  return {
    top: Number(data.get("top")),
    k: Number(data.get("k")),
    region: province && city ? { province, city } : province,
  };
}

function startReport(form) {
  const panel = document.getElementById("report-panel");
  const bar = panel.querySelector(".progress > div");
  const label = panel.querySelector(".progress-label");
  const links = panel.querySelector(".downloads");
  const button = form.querySelector("button");
  button.disabled = true;
  links.innerHTML = "";
  panel.hidden = false;
  label.textContent = "排队中… (queued)";
  fetch(form.dataset.jobs, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(reportBody(form)),
  })
    .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
    .then(({ ok, body }) => {
      if (!ok) throw new Error(detailText(body.detail));
      poll(body.id);
    })
    .catch((err) => { label.textContent = "生成失败：" + err.message; button.disabled = false; });

  function poll(id) {
    const job = "/v1/report-jobs/" + encodeURIComponent(id);
    fetch(job, { credentials: "same-origin", cache: "no-store" })
      .then((r) => r.json())
      .then((status) => {
        const percent = status.state === "done" ? 100
          : status.total ? Math.floor((100 * status.done) / status.total) : 0;
        bar.style.width = percent + "%";
        label.textContent = status.state === "done" ? "已完成 (done)"
          : status.state === "failed" ? "生成失败：" + (status.error || "")
          : `${status.done} / ${status.total || "?"} · ${status.label || "准备中"}`;
        panel.dataset.state = status.state;
        if (status.state === "done") {
          links.innerHTML = Object.entries(FORMAT_NAMES)
            .map(([fmt, name]) => `<a class="download-${fmt}" href="${job}/result?format=${fmt}">下载 ${name}</a>`)
            .join("");
          button.disabled = false;
        } else if (status.state === "failed") {
          button.disabled = false;
        } else {
          setTimeout(() => poll(id), 400);
        }
      })
      .catch(() => setTimeout(() => poll(id), 1000));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const reportForm = document.getElementById("report-form");
  if (reportForm) {
    reportForm.addEventListener("submit", (event) => { event.preventDefault(); startReport(reportForm); });
  }
  document.querySelectorAll("select[name=stage]").forEach((select) => {
    const field = select.form.querySelector(".reason-field");
    const sync = () => {
      if (!field) return;
      const declined = select.value === "declined";
      field.hidden = !declined;
      const input = field.querySelector("input, textarea");
      if (input) input.required = declined;
    };
    select.addEventListener("change", sync);
    sync();
  });
});

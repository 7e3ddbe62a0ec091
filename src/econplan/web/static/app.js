// econplan's pages: the little they do in the browser.
"use strict";

// A job's page follows the job until it ends; the state lives in the store, so a reload shows
// the same.
function followJob(box) {
  const id = box.dataset.job;
  const show = (job) => {
    document.getElementById("job-state").innerHTML =
      `<span class="badge ${job.state}">${job.state}</span>`;
    document.getElementById("job-progress").textContent = job.progress;
    document.getElementById("job-error").textContent = job.error || "";
    if (job.result_version) {
      document.getElementById("job-result").innerHTML =
        `<a href="/versions">version ${job.result_version}</a>`;
    }
    if (job.state === "queued" || job.state === "running") {
      setTimeout(poll, 2000);
    }
  };
  const poll = () =>
    fetch(`/api/jobs/${id}`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(show)
      .catch(() => setTimeout(poll, 5000));
  if (box.dataset.state === "queued" || box.dataset.state === "running") {
    setTimeout(poll, 1000);
  }
}

// The product page's product field goes to that product's page.
function productField(input) {
  input.form.addEventListener("submit", (event) => {
    if (input.value && input.value !== location.pathname.split("/").pop()) {
      event.preventDefault();
      const params = new URLSearchParams(new FormData(input.form));
      params.delete("product_id");
      location.href = input.dataset.goto + encodeURIComponent(input.value) + "?" + params;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-job]").forEach(followJob);
  document.querySelectorAll("[data-goto]").forEach(productField);
});

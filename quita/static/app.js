// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // The menu: served open (usable without JS); folded behind "Menu" on narrow screens.
  const narrow = window.matchMedia("(max-width: 47.99rem)");
  document.querySelectorAll("details[data-collapse-narrow]").forEach((menu) => {
    if (narrow.matches) menu.open = false;
  });
  // On wide screens one group's drop-down at a time; Escape or a click elsewhere closes it.
  const groups = Array.from(document.querySelectorAll("details.group"));
  groups.forEach((group) => {
    group.addEventListener("toggle", () => {
      if (group.open && !narrow.matches) {
        groups.forEach((other) => { if (other !== group) other.open = false; });
      }
    });
  });
  document.addEventListener("click", (event) => {
    if (narrow.matches) return;
    groups.forEach((group) => { if (!group.contains(event.target)) group.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    groups.forEach((group) => {
      if (group.open) { group.open = false; group.querySelector("summary").focus(); }
    });
  });
  // Tenant switcher: submit on change (the button stays for keyboard and no-JS users).
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  // Copy buttons (Pix code, boleto number); the text stays selectable without this.
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const field = document.querySelector(button.dataset.copy);
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
      } catch {
        document.execCommand("copy");
      }
      button.textContent = button.dataset.copied;
    });
  });
});

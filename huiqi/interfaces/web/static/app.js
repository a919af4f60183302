// 惠企: small page behaviours (no inline scripts: the pages' Content-Security-Policy forbids them).
document.addEventListener("click", function (e) {
  // a 待补充信息 question links to its form field: scroll there and focus the input
  var a = e.target.closest('a[href^="#field-"]');
  if (!a) return;
  var box = document.getElementById(a.getAttribute("href").slice(1));
  if (!box) return;
  e.preventDefault();
  box.scrollIntoView({ behavior: "smooth", block: "center" });
  var input = box.querySelector("input, select");
  if (input) input.focus();
  box.classList.add("flash");
  history.replaceState(null, "", a.getAttribute("href"));
});

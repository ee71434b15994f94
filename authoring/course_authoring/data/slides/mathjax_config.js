// MathJax 2 from the folder next to this file: TeX between $...$ or $$...$$ (\$ for a dollar),
// typeset with the STIX web fonts it ships (no other font is looked for, none is downloaded).
MathJax.Hub.Config({
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  TeX: { equationNumbers: { autoNumber: "AMS", useLabelIds: true } },
  "HTML-CSS": {
    availableFonts: [],
    preferredFont: null,
    webFont: "STIX-Web",
    imageFont: null,
    linebreaks: { automatic: true }
  },
  displayAlign: "center",
  messageStyle: "none",
  showMathMenu: false
});
// Pages and slides wait for this before they are measured (see fit.js).
MathJax.Hub.Register.StartupHook("End", function () {
  document.documentElement.setAttribute("data-course-math", "done");
  document.dispatchEvent(new Event("course-math-done"));
});

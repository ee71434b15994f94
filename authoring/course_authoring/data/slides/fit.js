// Fit every slide into the presentation's size (width x height in Reveal's configuration),
// which reveal.js then scales to the screen. A slide whose content is taller or wider is
// shrunk with CSS zoom on its cells, so that its text re-flows at the full width; never below
// COURSE_MIN_SCALE: a slide that still does not fit is marked data-course-too-long, and the
// console names its longest cell (split that cell in the notebook).
// When everything is laid out (fonts, images, formulas), <html> gets data-course-ready.
(function () {
  var root = document.documentElement;

  function leafSlides() {
    return Array.prototype.filter.call(
      document.querySelectorAll(".reveal .slides section"),
      function (slide) { return !slide.querySelector("section"); }
    );
  }

  function parts(slide) {
    return Array.prototype.filter.call(slide.children, function (child) {
      return !child.matches("aside.notes");
    });
  }

  function setScale(slide, scale) {
    parts(slide).forEach(function (part) {
      part.style.zoom = scale === 1 ? "" : String(scale);
    });
  }

  function fits(slide, width, height) {
    return slide.scrollHeight <= height && slide.scrollWidth <= width;
  }

  function tooLong(slide) {
    var longest = parts(slide).reduce(function (a, b) {
      return b.offsetHeight > a.offsetHeight ? b : a;
    });
    var where = Reveal.getIndices(slide);
    var heading = slide.querySelector("h1, h2, h3");
    var text = heading ? heading.textContent.replace("\u00b6", "").trim() : "";
    var cell = (longest.id || "").replace("cell-id=", "");
    slide.setAttribute("data-course-too-long", cell);
    console.warn("slide " + where.h + "." + (where.v || 0) + " (" + text + ") is too long for " +
      "the screen even at " + COURSE_MIN_SCALE + " scale: split its longest cell (id " + cell + ")");
  }

  function fitSlide(slide, width, height) {
    setScale(slide, 1);
    slide.style.height = "";
    slide.style.overflowY = "";
    slide.removeAttribute("data-course-scale");
    slide.removeAttribute("data-course-too-long");
    if (fits(slide, width, height)) return;
    var low = COURSE_MIN_SCALE, high = 1;
    setScale(slide, low);
    if (!fits(slide, width, height)) {
      // Shown at the smallest scale, scrolling: the presenter can still get to its end.
      slide.style.height = height + "px";
      slide.style.overflowY = "auto";
      tooLong(slide);
      return;
    }
    for (var step = 0; step < 8; step++) {
      var middle = (low + high) / 2;
      setScale(slide, middle);
      if (fits(slide, width, height)) low = middle; else high = middle;
    }
    setScale(slide, low);
    slide.setAttribute("data-course-scale", low.toFixed(3));
  }

  // A slide that reveal.js hides (display: none) has no size: show it while it is measured.
  function measured(slide, measure) {
    var hidden = [];
    for (var node = slide; node && node.tagName === "SECTION"; node = node.parentElement) {
      if (getComputedStyle(node).display === "none") {
        hidden.push([node, node.style.display]);
        node.style.display = "block";
      }
    }
    measure();
    hidden.forEach(function (pair) { pair[0].style.display = pair[1]; });
  }

  function fitAll() {
    var config = Reveal.getConfig();
    leafSlides().forEach(function (slide) {
      measured(slide, function () { fitSlide(slide, config.width, config.height); });
    });
    Reveal.layout();
  }

  // Fitted once reveal.js is ready (the first slide shows fitted), and again once fonts,
  // images and formulas have their final sizes.
  var waiting = { reveal: true, load: true, fonts: true, math: !!window.MathJax };
  function settled(what) {
    if (!waiting[what]) return;
    waiting[what] = false;
    var done = !waiting.reveal && !waiting.load && !waiting.fonts && !waiting.math;
    if (what === "reveal" || (done && !waiting.reveal)) fitAll();
    if (done) root.setAttribute("data-course-ready", "1");
  }
  window.courseFitSlides = fitAll;
  if (root.getAttribute("data-course-math") === "done") waiting.math = false;
  document.addEventListener("course-math-done", function () { settled("math"); });
  if (document.readyState === "complete") waiting.load = false;
  else window.addEventListener("load", function () { settled("load"); });
  if (document.fonts) document.fonts.ready.then(function () { settled("fonts"); });
  else waiting.fonts = false;
  if (Reveal.isReady()) settled("reveal");
  else Reveal.on("ready", function () { settled("reveal"); });
})();

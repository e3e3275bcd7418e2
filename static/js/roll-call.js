/* The evacuation roll call: ticking needs no server, and each tick is kept on the
   tablet, so the open list goes on working when the network drops mid-evacuation. */
(function () {
  "use strict";
  const root = document.getElementById("roll-call");
  if (!root) return;
  const key = "roll-call:" + root.dataset.rollCall;
  const found = new Set(JSON.parse(localStorage.getItem(key) || "[]"));
  const boxes = root.querySelectorAll("[data-person]");
  const counter = root.querySelector(".roll-count");
  function update() {
    counter.textContent = found.size + " / " + boxes.length + " ✓";
  }
  boxes.forEach((box) => {
    box.checked = found.has(box.dataset.person);
    box.addEventListener("change", () => {
      if (box.checked) found.add(box.dataset.person); else found.delete(box.dataset.person);
      localStorage.setItem(key, JSON.stringify([...found]));
      update();
    });
  });
  update();
})();

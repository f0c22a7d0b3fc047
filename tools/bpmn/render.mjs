// Render BPMN files to PNG with bpmn-js in headless Chromium, as bpmn.io shows them.
// Usage: node tools/bpmn/render.mjs OUT_DIR processes/*.bpmn
// Prints any import warnings bpmn-js reports (a clean model has none).
import { readFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const viewer = join(here, "node_modules/bpmn-js/dist/bpmn-viewer.production.min.js");
const [outDir, ...files] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
                                        args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 2400, height: 1400 } });
await page.setContent('<div id="canvas" style="width:2400px;height:1400px"></div>');
await page.addScriptTag({ path: viewer });
let failed = false;
for (const file of files) {
  const xml = readFileSync(file, "utf8");
  const result = await page.evaluate(async (xml) => {
    document.getElementById("canvas").innerHTML = "";
    const viewer = new BpmnJS({ container: "#canvas" });
    try {
      const { warnings } = await viewer.importXML(xml);
      viewer.get("canvas").zoom("fit-viewport");
      return { warnings: warnings.map((w) => w.message) };
    } catch (error) {
      return { error: error.message };
    }
  }, xml);
  const out = join(outDir, basename(file).replace(/\.bpmn$/, ".png"));
  await page.screenshot({ path: out, fullPage: true });
  if (result.error) failed = true;
  console.log(`${file} -> ${out}`, JSON.stringify(result));
}
await browser.close();
process.exit(failed ? 1 : 0);

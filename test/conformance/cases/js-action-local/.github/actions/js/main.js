const fs = require("fs");
console.log(`main: INPUT_WHO=${process.env.INPUT_WHO} INPUT_MY_INPUT=${process.env.INPUT_MY_INPUT}`);
console.log(`main: node ${process.version.startsWith("v") ? "runs" : "?"}, action path ${process.env.GITHUB_ACTION_PATH.endsWith(".github/actions/js")}`);
fs.appendFileSync(process.env.GITHUB_STATE, "saved=from-main\n");
fs.appendFileSync(process.env.GITHUB_OUTPUT, "result=computed\n");
console.log("::save-state name=legacy::from-command");

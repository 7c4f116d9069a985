console.log("skip-pre main ran");

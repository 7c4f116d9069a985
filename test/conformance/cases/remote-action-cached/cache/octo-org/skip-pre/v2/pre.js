console.log("skip-pre pre ran");

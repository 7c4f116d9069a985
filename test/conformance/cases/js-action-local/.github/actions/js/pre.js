console.log("pre ran");

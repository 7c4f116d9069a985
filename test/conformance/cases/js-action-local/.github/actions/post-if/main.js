console.log("post-if main ran");
